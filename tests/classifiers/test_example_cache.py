"""The example-embedding cache: what one start encoded, the next reads back."""

import numpy as np

from classifiers.example_cache import ExampleCache


def test_vectors_survive_a_restart_and_only_new_texts_are_missing(tmp_path) -> None:
    path = tmp_path / "examples" / "model-1.npz"
    first = ExampleCache(path)
    found, missing = first.lookup(["a", "b", "a"])
    assert found == {} and missing == ["a", "b"]
    first.add(missing, np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32))

    again = ExampleCache(path)  # the next start
    found, missing = again.lookup(["b", "c", "a"])
    assert missing == ["c"]
    np.testing.assert_array_equal(found["a"], [1.0, 0.0])
    np.testing.assert_array_equal(found["b"], [0.0, 1.0])
    again.add(["c"], np.array([[0.5, 0.5]], dtype=np.float32))
    assert ExampleCache(path).lookup(["a", "b", "c"])[1] == []
    assert [p.name for p in path.parent.iterdir()] == ["model-1.npz"]  # no temporary left


def test_an_unreadable_file_is_encoded_again_and_replaced(tmp_path, caplog) -> None:
    path = tmp_path / "model.npz"
    path.write_bytes(b"not a numpy file")
    cache = ExampleCache(path)
    assert cache.lookup(["x"]) == ({}, ["x"])
    assert "unreadable" in caplog.text
    cache.add(["x"], np.ones((1, 3), dtype=np.float32))
    assert ExampleCache(path).lookup(["x"])[1] == []


def test_without_a_path_it_only_remembers_in_memory(tmp_path) -> None:
    cache = ExampleCache(None)
    cache.add(["x"], np.ones((1, 2), dtype=np.float32))
    assert cache.lookup(["x"])[1] == []
    assert list(tmp_path.iterdir()) == []
