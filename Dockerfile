FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
# Exactly the pinned, hash-checked dependencies (make lock), then Atelier without resolving.
COPY requirements.lock ./
RUN pip install --no-cache-dir --upgrade pip \
 && pip install --no-cache-dir --require-hashes -r requirements.lock
COPY . .
# collectstatic reads the settings, which refuse a weak key: a throwaway one for the build.
RUN pip install --no-cache-dir --no-deps . \
 && DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    python manage.py collectstatic --noinput
RUN useradd --create-home atelier && mkdir -p /app/var && chown -R atelier /app/var
USER atelier
EXPOSE 8000
# ASGI under gunicorn's process management: uvicorn workers keep slow clients and long
# streamed downloads off the worker processes' request slots (README, "Production shape").
CMD ["gunicorn", "config.asgi:application", "--worker-class", "uvicorn_worker.UvicornWorker", \
     "--bind", "0.0.0.0:8000", "--workers", "3", "--graceful-timeout", "30"]
