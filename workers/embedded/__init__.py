"""The embedded stack: a throwaway Redis, the sandbox upstreams, Celery workers, beat and Flower."""
