/**
 * Test fixture images, built locally from Debian packages by test/fixtures/images/build.sh.
 * PostgreSQL, Redis and the registry are the real servers; MinIO and Qdrant are stand-ins
 * (an s3rver-based S3 server that verifies SigV4 signatures and bucket policies, and a small
 * Qdrant double). See test/fixtures/images/README.md.
 */
export const FIXTURE_IMAGES = {
  registry: "dify-local-fixture/registry:2",
  postgres: "dify-local-fixture/postgres:17",
  redis: "dify-local-fixture/redis:7",
  minio: "dify-local-fixture/minio:latest",
  qdrant: "dify-local-fixture/qdrant:latest",
} as const;
