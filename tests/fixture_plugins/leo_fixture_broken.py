"""A plugin whose registration hook raises."""

from leo import hookimpl


@hookimpl
def leo_register_subagents():
    raise ValueError("cannot register")
