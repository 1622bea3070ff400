#!/bin/sh
# Dispatch one Retour process per container: web | scheduler | migrate (or any `retour …` command).
#   web        migrate the database, then serve the UI with `retour web` (settings from RETOUR_*)
#   scheduler  run the scheduled jobs (sync, themes, push); a database lease keeps it to one active instance
#   migrate    bring the database schema to the latest revision, then exit
# Settings come from RETOUR_* variables (or RETOUR_CONFIG); nothing secret is printed here.
set -eu

command="${1:-web}"
if [ "$#" -gt 0 ]; then shift; fi

case "$command" in
  web)
    retour db upgrade
    # `retour web` as on a single machine: waitress processes (about one per core) that only hand a request to a
    # thread once it is whole, so slow clients cannot starve the others (webapp/serve.py, bench/slow_clients.py).
    exec retour web \
      --host "${RETOUR_WEB_HOST:-0.0.0.0}" --port "${RETOUR_WEB_PORT:-8080}" \
      --workers "${WEB_CONCURRENCY:-2}" --threads "${WEB_THREADS:-4}" \
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
