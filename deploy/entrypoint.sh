#!/bin/sh
# Dispatch one Retour process per container: web | scheduler | migrate (or any `retour …` command).
#   web        migrate the database, then serve the UI with gunicorn (webapp.wsgi:app builds it from RETOUR_*)
#   scheduler  run the scheduled jobs (sync, themes, push); a database lease keeps it to one active instance
#   migrate    bring the database schema to the latest revision, then exit
# Settings come from RETOUR_* variables (or RETOUR_CONFIG); nothing secret is printed here.
set -eu

command="${1:-web}"
if [ "$#" -gt 0 ]; then shift; fi

case "$command" in
  web)
    retour db upgrade
    # gthread workers keep connections alive; pages are served from a per-worker cache, so about one worker
    # per core, with threads to overlap database waits (the figures behind this: bench/web_bench.py).
    exec gunicorn "webapp.wsgi:app" \
      --bind "${RETOUR_WEB_HOST:-0.0.0.0}:${RETOUR_WEB_PORT:-8080}" \
      --workers "${WEB_CONCURRENCY:-2}" \
      --worker-class gthread --threads "${WEB_THREADS:-4}" --keep-alive 5 \
      --access-logfile - \
      "$@"
    ;;
  scheduler)
    exec retour scheduler "$@"
    ;;
  migrate)
    exec retour db upgrade "$@"
    ;;
  retour)
    exec retour "$@"
    ;;
  *)
    echo "usage: retour-entrypoint web | scheduler | migrate | retour <command> (got: $command)" >&2
    exit 64
    ;;
esac
