"""The notifiers that come with rerunorch: ``slack``, ``webhook`` (JSON or a Teams card) and
``email`` (docs/notifiers.md).

Each module is a default plugin, registered through the same door as any other: an entry
point of the core's own distribution in the group ``rerunorch`` (pyproject.toml), so that
``rerunorch plugins`` lists them as installed with rerunorch and
``RERUNORCH_DISABLE_PLUGINS`` can leave them out. Nothing is imported here: a notifier's
module is loaded only with the plugins.
"""
