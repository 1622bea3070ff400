"""Alembic environment: migrations run against the engine Retour hands over (see retour.db.upgrade)."""

from alembic import context

from retour.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        raise RuntimeError("Run migrations through `retour db upgrade`, which hands Alembic the configured engine.")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise RuntimeError("Offline (SQL script) migrations are not supported; run `retour db upgrade`.")
run_migrations_online()
