"""dropout_lib.tables: HTML on the website, deterministic aligned text for the tests."""
import numpy as np
import pytest

from dropout_lib.tables import table


def test_plain_text_is_aligned_and_rounded():
    t = table([["no dropout", 0.12345, 5], ["dropout", 0.1, 12]],
              ["arm", "error", "seeds"], decimals=2)
    assert repr(t).splitlines() == [
        "arm         error  seeds",
        "----------  -----  -----",
        "no dropout   0.12      5",
        "dropout      0.10     12",
    ]


def test_numpy_scalars_are_numbers_not_reprs():
    t = table([[np.float64(0.5), np.int64(3)]], ["a", "b"])
    assert t.rows == (("0.500", "3"),)
    assert t.numeric == (True, True)
    assert "np." not in repr(t)


def test_html_has_header_caption_and_escapes():
    t = table([["<b>", 1.0]], ["name", "x"], caption="A & B")
    h = t._repr_html_()
    assert "<caption>A &amp; B</caption>" in h
    assert "<th" in h and "&lt;b&gt;" in h and "<b>" not in h
    assert 'text-align:right">1.000</td>' in h
    assert "overflow-x:auto" in h


def test_caption_is_the_first_text_line():
    assert repr(table([[1]], ["n"], caption="Table 1")).splitlines()[0] == "Table 1"


@pytest.mark.parametrize("kwargs, match", [
    ({"rows": [[1, 2]], "columns": ["a"]}, "rows\\[0\\]"),
    ({"rows": [[1]], "columns": []}, "columns"),
    ({"rows": [[1]], "columns": ["a"], "decimals": -1}, "decimals"),
])
def test_bad_shapes_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        table(**kwargs)


def test_unsupported_cell_type_is_a_type_error():
    with pytest.raises(TypeError, match="table cells"):
        table([[object()]], ["a"])
