"""Loaded by every Python process a test starts with this folder on its PYTHONPATH (the
`stubbed_in_children` fixture of tests/conftest.py): where a child's ONNX export or its precision
measurement is not the test's subject, they are skipped there too, as `no_onnx_export` skips
them in the test's own process. TESTS_STUBBED names what: "export" (ensure_onnx,
ensure_features_onnx and ensure_lower_onnx fail as an export that cannot be made: the model is written all the same,
features come through PyTorch), "precision" (model.precision.make_ready measures nothing: the
model runs in fp32, as where its photos are not here). Both have tests of their own
(tests/e2e/test_export.py, test_precision.py, tests/model/test_maintainer_session.py)."""
import importlib.abc
import importlib.util
import os
import sys

STUBBED = set(filter(None, os.environ.get("TESTS_STUBBED", "").split(",")))


def _no_export(module) -> None:
    def not_here(*args, **kwargs):
        raise module.ExportError("the ONNX export is not this test's subject")
    module.ensure_onnx = not_here
    module.ensure_features_onnx = not_here
    module.ensure_lower_onnx = not_here


def _no_precision(module) -> None:
    def not_measured(*args, **kwargs):
        return None
    module.make_ready = not_measured


PATCHES = {"assistant.inference.export": ("export", _no_export),
           "model.precision": ("precision", _no_precision)}


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Patches a module of PATCHES right after it is executed, before anyone imports from it."""

    def find_spec(self, name, path=None, target=None):
        if name not in PATCHES or PATCHES[name][0] not in STUBBED:
            return None
        sys.meta_path.remove(self)  # the real spec, found by the other finders
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        execute, patch = spec.loader.exec_module, PATCHES[name][1]

        def exec_module(module):
            execute(module)
            patch(module)
        spec.loader.exec_module = exec_module
        return spec


if STUBBED:
    sys.meta_path.insert(0, _PatchAfterImport())
