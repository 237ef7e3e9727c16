FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md celeryconfig.py ./
COPY shared shared
COPY tasks tasks
COPY workers workers
COPY sandbox sandbox
RUN pip install --no-cache-dir . && useradd --create-home regq
USER regq
# docker-compose.yml gives each service its command (workers per queue, beat, flower, exporter, migrate).
CMD ["celery", "-A", "tasks.app", "worker", "-E"]
