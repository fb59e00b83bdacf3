import gc
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


# Qt objects must be destroyed on the GUI thread. Python's cyclic collector runs in whatever
# thread allocates, so Qt garbage left by one test could be destroyed on a later test's
# engine thread (see studio/shell/gui_gc.py). Each Qt test's garbage therefore dies right after the
# test, here on the main thread; freezing what exists after collection keeps that cheap.
def pytest_collection_finish(session):
    gc.collect()
    gc.freeze()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    result = yield                        # after pytest-qt has closed the test's widgets
    if "qtbot" in getattr(item, "fixturenames", ()):
        from PySide6.QtCore import QCoreApplication, QEvent
        QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
        gc.collect()
    return result
