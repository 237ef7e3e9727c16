FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md celeryconfig.py ./
COPY shared shared
COPY tasks tasks
COPY workers workers
COPY sandbox sandbox
RUN pip install --no-cache-dir . && useradd --create-home regq
USER regq
CMD ["celery", "-A", "tasks.app", "worker", "-E"]
