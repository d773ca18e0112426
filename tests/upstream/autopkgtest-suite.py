#!/usr/bin/python3
# Runs autopkgtest's own integration suite (tests/autopkgtest in `apt-get source autopkgtest`) against
# autopkgtest-virt-arkose: the suite is parameterised by runner classes, and this adds one for arkose.
#
#   tests/upstream/autopkgtest-suite.py AUTOPKGTEST_SOURCE_DIR [unittest arguments, e.g. -k test_reboot]
#
# Environment: AUTOPKGTEST_TEST_ARKOSE, the server's arguments (e.g. "--network host adt"); PATH must find
# autopkgtest-virt-arkose (and ARKOSE_STATE_DIR etc. name arkose-chroot's directories). The installed
# autopkgtest runs the tests (AUTOPKGTEST_TEST_INSTALLED=1). Not run by ctest: it takes long, and many of
# its tests install packages in the testbed, which needs a package source (--network host).
#
# The runner mixes in what an arkose testbed is: a container (DebTestsVirtContainer, which includes
# DebTestsVirtFS and DebTestsAll) that can reboot (DebTestsCanReboot's reboot tests; not its logind test,
# which needs a booted system), plus DebTestsFailureModes. It does not advertise isolation-container.
import importlib.machinery
import importlib.util
import os
import sys
import unittest

src = os.path.abspath(sys.argv.pop(1))
os.environ.setdefault('AUTOPKGTEST_TEST_INSTALLED', '1')
loader = importlib.machinery.SourceFileLoader('autopkgtest_suite', os.path.join(src, 'tests', 'autopkgtest'))
spec = importlib.util.spec_from_loader(loader.name, loader)
suite = importlib.util.module_from_spec(spec)
sys.path.insert(0, os.path.join(src, 'tests'))
loader.exec_module(suite)


class ArkoseRunner(suite.AdtTestCase, suite.DebTestsVirtContainer, suite.DebTestsFailureModes):
    def __init__(self, *args, **kwargs):
        super().__init__(['arkose'] + os.environ['AUTOPKGTEST_TEST_ARKOSE'].split(), *args, **kwargs)

    @property
    def has_isolation_container(self):
        return False

    test_reboot = suite.DebTestsCanReboot.test_reboot
    test_reboot_prepare = suite.DebTestsCanReboot.test_reboot_prepare
    test_setup_commands_reboot = suite.DebTestsCanReboot.test_setup_commands_reboot


if __name__ == '__main__':
    unittest.main(defaultTest='ArkoseRunner',
                  testRunner=unittest.TextTestRunner(stream=sys.stdout, verbosity=2),
                  argv=[sys.argv[0]] + sys.argv[1:])
