#!/bin/sh
# Run once by docker compose (service minio-bucket, image minio/mc): a private bucket and
# the application's own key, allowed only that bucket's objects. Safe to run again.
set -eu
mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc mb --ignore-existing local/atelier
mc anonymous set none local/atelier
mc admin policy create local atelier-app /init/minio-app-policy.json
mc admin user add local "$ATELIER_S3_ACCESS_KEY" "$ATELIER_S3_SECRET_KEY"
if ! mc admin user info local "$ATELIER_S3_ACCESS_KEY" | grep -q atelier-app; then
  mc admin policy attach local atelier-app --user "$ATELIER_S3_ACCESS_KEY"
fi
