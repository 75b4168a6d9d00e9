"""Listener days become rolling 24 h listener windows; existing rows keep their meaning (a window that started at
the row's first request) and their pseudonyms (same salt and day scheme)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("feeds", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="listenerday", name="listener_day_unique"),
        migrations.RemoveConstraint(model_name="listenerday", name="listener_day_has_one_owner"),
        migrations.RenameModel(old_name="ListenerDay", new_name="ListenerWindow"),
        migrations.RenameField(model_name="listenerwindow", old_name="first_seen", new_name="started_at"),
        migrations.AlterField(model_name="listenerwindow", name="started_at", field=models.DateTimeField()),
        migrations.AlterField(model_name="listenerwindow", name="last_seen", field=models.DateTimeField()),
        migrations.AlterModelOptions(
            name="listenerwindow",
            options={"ordering": ["-started_at", "-id"], "verbose_name": "listener window (raw, pruned)"},
        ),
        migrations.AddConstraint(
            model_name="listenerwindow",
            constraint=models.UniqueConstraint(fields=("listener", "target", "day"), name="listener_window_unique"),
        ),
        migrations.AddConstraint(
            model_name="listenerwindow",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("episode__isnull", False), ("video__isnull", True)),
                    models.Q(("episode__isnull", True), ("video__isnull", False)),
                    _connector="OR",
                ),
                name="listener_window_has_one_owner",
            ),
        ),
    ]
