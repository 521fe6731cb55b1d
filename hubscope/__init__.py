"""The top of hubscope: the ``hubscope`` command (``hubscope.cli``) and the demo (``hubscope.demo``)."""
