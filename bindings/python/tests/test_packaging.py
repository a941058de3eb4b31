"""`pip install bindings/python` works offline: the package builds with its
in-tree backend and nothing from an index, installs, and the installed copy
(not the source tree) finds the library next to itself, opens a context and
makes a call."""
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import support

SOURCE = os.path.dirname(support.HERE)


@unittest.skipIf(importlib.util.find_spec("pip") is None,
                 "pip is not installed for %s" % sys.executable)
class Packaging(unittest.TestCase):

    def test_pip_installs_offline_and_the_installed_package_works(self):
        target = tempfile.mkdtemp(prefix="billing-pip-")
        build = tempfile.mkdtemp(prefix="billing-pip-src-")
        try:
            # A copy: pip's in-tree build leaves build/ and *.egg-info behind.
            src = os.path.join(build, "python")
            shutil.copytree(SOURCE, src, ignore=shutil.ignore_patterns(
                "tests", "__pycache__", "build", "*.egg-info"))
            # The library next to the package: packaged with it, found by it.
            shutil.copy(support.billing._lib.load()._name,
                        os.path.join(src, "billing", "libbilling.so"))
            env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
            p = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index",
                                "--target", target, src],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
            self.assertEqual(p.returncode, 0, p.stdout.decode())
            code = ("import billing, sys\n"
                    "assert billing.__file__.startswith(sys.argv[1]), billing.__file__\n"
                    "with billing.Billing('sqlite::memory:') as b:\n"
                    "    assert b._lib._name.startswith(sys.argv[1]), b._lib._name\n"
                    "    t = b.as_principal(role='PLATFORM').tenants.create(name='Pip')\n"
                    "    print(t['object'])\n")
            env = {k: v for k, v in os.environ.items()
                   if k not in ("PYTHONPATH", "BILLING_LIBRARY")}
            env["PYTHONPATH"] = target
            p = subprocess.run([sys.executable, "-c", code, target], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=env, cwd=build)
            self.assertEqual(p.stdout.decode().strip(), "tenant", p.stdout.decode())
        finally:
            shutil.rmtree(target, ignore_errors=True)
            shutil.rmtree(build, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
