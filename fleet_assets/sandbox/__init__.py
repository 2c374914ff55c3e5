"""The local adversarial web site used by the demo, tests and benchmarks.

``serve`` runs it in this process (the ``fleet sandbox`` command), ``start_sandbox`` inside
a running event loop, ``SandboxProcess`` in a child process. Knobs: ``faults.Faults``.
"""

from fleet_assets.sandbox.faults import Faults
from fleet_assets.sandbox.process import SandboxProcess
from fleet_assets.sandbox.run import RunningSandbox, serve, start_sandbox

__all__ = ["Faults", "RunningSandbox", "SandboxProcess", "serve", "start_sandbox"]
