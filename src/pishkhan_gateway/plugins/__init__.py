"""The core's side of the plugin contract: loading plugins (``manager``) and the one guarded
door every hook call goes through (``door``). What a plugin itself uses is ``pishkhan_gateway``'s
``__all__`` (the SDK, ``sdk/``)."""

from pishkhan_gateway.plugins.door import PluginProblem, Plugins, RegisteredService
from pishkhan_gateway.plugins.manager import ENTRY_POINT_GROUP, load_plugins

__all__ = ["ENTRY_POINT_GROUP", "PluginProblem", "Plugins", "RegisteredService", "load_plugins"]
