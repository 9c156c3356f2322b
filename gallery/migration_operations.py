"""Migration operations that only touch a PostgreSQL database.

The embedded default runs on SQLite, which has no GIN indexes; the model state
still records them, so ``makemigrations`` sees no difference on either backend.
"""

from django.db.migrations.operations.base import Operation


class PostgresOnly(Operation):
    reversible = True

    def __init__(self, operation: Operation):
        self.operation = operation

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.operation], {})

    def state_forwards(self, app_label, state):
        self.operation.state_forwards(app_label, state)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            self.operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            self.operation.database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return f"{self.operation.describe()} (PostgreSQL only)"
