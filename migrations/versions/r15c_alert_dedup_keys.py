"""unique keys for alerts that must happen once: notifications (user, dedup_key), push messages
(browser, notification) and (browser, dedup_key) — see webapp/dedup.py

Revision ID: r15c_alert_dedup_keys
Revises: r15b_case_event_action_index
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "r15c_alert_dedup_keys"
down_revision = "r15b_case_event_action_index"
branch_labels = None
depends_on = None


def upgrade():
    # Rows queued twice before the key existed would stop the unique constraint: keep the first
    # message of each alert per browser (the sender delivers the rest as duplicates anyway).
    op.execute(
        "DELETE FROM push_messages WHERE notification_id IS NOT NULL AND id NOT IN ("
        " SELECT min(id) FROM push_messages WHERE notification_id IS NOT NULL"
        " GROUP BY subscription_id, notification_id)"
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dedup_key", sa.String(length=120), nullable=True))
        batch_op.create_unique_constraint(
            "uq_notifications_user_id_dedup_key", ["user_id", "dedup_key"]
        )
    with op.batch_alter_table("push_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dedup_key", sa.String(length=60), nullable=True))
        batch_op.create_unique_constraint(
            "uq_push_messages_subscription_id_notification_id",
            ["subscription_id", "notification_id"],
        )
        batch_op.create_unique_constraint(
            "uq_push_messages_subscription_id_dedup_key", ["subscription_id", "dedup_key"]
        )


def downgrade():
    with op.batch_alter_table("push_messages", schema=None) as batch_op:
        batch_op.drop_constraint("uq_push_messages_subscription_id_dedup_key", type_="unique")
        batch_op.drop_constraint("uq_push_messages_subscription_id_notification_id", type_="unique")
        batch_op.drop_column("dedup_key")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint("uq_notifications_user_id_dedup_key", type_="unique")
        batch_op.drop_column("dedup_key")
