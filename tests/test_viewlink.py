from explorer.viewlink import from_query, to_query


def test_a_view_round_trips_through_its_link():
    view = {"bundle": "cells-vae", "method": "umap", "params": {"n_neighbors": 30, "min_dist": 0.25}, "seed": 4,
            "picked": 17, "path": [3, 9, 27, 81, 5], "closed": False, "fps": 60, "interpolation": "slerp",
            "present": True}
    q = to_query(view)
    assert all(isinstance(v, str) for v in q.values())
    back, notes = from_query(q, n_images=100)
    assert notes == []
    assert back == view


def test_defaults_stay_out_of_the_link_and_come_back():
    q = to_query({"bundle": "b", "method": "pca", "params": {}, "seed": 0, "picked": None, "path": [],
                  "present": False})
    assert q == {"bundle": "b", "map": "pca"}
    back, _ = from_query(q)
    assert back == {"bundle": "b", "method": "pca", "present": False}


def test_bad_values_are_dropped_with_a_note():
    back, notes = from_query({"map": "isomap", "pick": "999", "path": "1,x,2", "map_params": "perplexity:abc",
                              "seed": "s"}, n_images=50)
    assert "method" not in back and "picked" not in back and back["path"] == [1, 2]
    assert any("unknown map 'isomap'" in n for n in notes)
    assert any("picked image 999 is not an image of this bundle" in n for n in notes)
    assert any("'x' is not an image number" in n for n in notes)
    assert any("perplexity:abc" in n for n in notes) and any("seed" in n for n in notes)
