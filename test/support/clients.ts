import { Redis } from "ioredis";
import * as Minio from "minio";

/** An S3 client for a test stack's MinIO on `port`, with the seed's root credentials (or another root password). */
export function seedS3(port: number, secretKey = "minioadmin123"): Minio.Client {
  return new Minio.Client({
    endPoint: "127.0.0.1",
    port,
    useSSL: false,
    accessKey: "minioadmin",
    secretKey,
    region: "us-east-1",
    pathStyle: true,
  });
}

/** Runs `body` on a connection to a test stack's Redis on `port`, with the seed's password (or `password`). */
export async function withRedis<T>(port: number, body: (r: Redis) => Promise<T>, password = "devpassword"): Promise<T> {
  const redis = new Redis({ host: "127.0.0.1", port, password, lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    return await body(redis);
  } finally {
    redis.disconnect();
  }
}
