# hubscope in a container: Python 3.11, OpenJDK 17 (for Spark), libmagic, skopeo and the registry
# (for `hubscope demo`), and the package. Build: docker build -t hubscope . ; run: docker run hubscope --help
FROM python:3.11-slim-bookworm

ENV DEBIAN_FRONTEND=noninteractive \
    PIP_NO_CACHE_DIR=1 \
    SPARK_LOCAL_IP=127.0.0.1 \
    PYSPARK_PYTHON=python3 \
    PYSPARK_DRIVER_PYTHON=python3

RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless libmagic1 isal skopeo docker-registry dpkg \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml setup.cfg README.md ./
COPY common ./common
COPY crawler ./crawler
COPY jobs ./jobs
COPY analyze ./analyze
COPY hubscope ./hubscope
RUN pip install '.[s3]'

WORKDIR /data
ENTRYPOINT ["hubscope"]
CMD ["--help"]
