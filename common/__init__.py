"""Bottom layer shared by every stage: contracts (formats, schemas) that import no stage."""
