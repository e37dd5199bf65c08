"""Matplotlib charts of a python code run, as today's `artifacts.charts` (the SDK's Chart model).

The run gets a tiny matplotlib backend (Agg underneath) next to its code file: `plt.show()` there
describes each figure (type, title, axes, ticks, data points or bars or wedges, a PNG) as one JSON
line in a file of the run's private directory, which the agent reads when the run has ended. The
backend swallows its own failures: a chart that cannot be described never breaks the user's code.
Images without matplotlib simply produce no charts.
"""

from __future__ import annotations

import json
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

BACKEND_MODULE = "_daytona_mpl_backend"
CHARTS_FILE = "charts.jsonl"
MAX_CHARTS_BYTES = 32 * 1024 * 1024

BACKEND_SOURCE = r'''
"""Daytona's matplotlib backend: Agg, plus a show() that records each figure as a chart."""
import base64
import io
import json
import math
import os

from matplotlib.backend_bases import FigureManagerBase as FigureManager  # noqa: F401
from matplotlib.backends.backend_agg import FigureCanvasAgg as FigureCanvas  # noqa: F401
from matplotlib._pylab_helpers import Gcf


def _num(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _points(pairs):
    found = []
    for x, y in pairs:
        x, y = _num(x), _num(y)
        if x is not None and y is not None:
            found.append([x, y])
    return found


def _label(artist):
    text = str(artist.get_label() or "")
    return "" if text.startswith("_") else text


def _axes_fields(ax):
    fields = {"title": ax.get_title(), "x_label": ax.get_xlabel(), "y_label": ax.get_ylabel()}
    for axis in ("x", "y"):
        fields[axis + "_scale"] = getattr(ax, "get_%sscale" % axis)()
        ticks = [_num(t) for t in getattr(ax, "get_%sticks" % axis)()]
        fields[axis + "_ticks"] = [t for t in ticks if t is not None]
        fields[axis + "_tick_labels"] = [t.get_text() for t in getattr(ax, "get_%sticklabels" % axis)()]
    return fields


def _tick_label(ax, axis, position):
    ticks = list(getattr(ax, "get_%sticks" % axis)())
    labels = [t.get_text() for t in getattr(ax, "get_%sticklabels" % axis)()]
    best = None
    for tick, label in zip(ticks, labels):
        if best is None or abs(tick - position) < abs(best[0] - position):
            best = (tick, label)
    return best[1] if best and best[1] else str(position)


def _bars(ax):
    elements = []
    for container in ax.containers:
        if type(container).__name__ != "BarContainer":
            continue
        horizontal = getattr(container, "orientation", None) == "horizontal"
        for rect in container.patches:
            if horizontal:
                position, value, axis = rect.get_y() + rect.get_height() / 2, rect.get_width(), "y"
            else:
                position, value, axis = rect.get_x() + rect.get_width() / 2, rect.get_height(), "x"
            elements.append(
                {"label": _tick_label(ax, axis, position), "value": str(value), "group": _label(container)}
            )
    return elements


def _axes_chart(ax):
    wedges = [p for p in ax.patches if type(p).__name__ == "Wedge"]
    if wedges:
        elements = [{"label": str(w.get_label() or ""), "angle": abs(w.theta2 - w.theta1), "radius": w.r}
                    for w in wedges]
        return {"type": "pie", "title": ax.get_title(), "elements": elements}
    chart = _axes_fields(ax)
    bars = _bars(ax)
    lines = [line for line in ax.get_lines() if len(line.get_xydata())]
    scatters = [c for c in ax.collections if type(c).__name__ == "PathCollection"]
    if bars:
        chart.update(type="bar", elements=bars)
    elif lines:
        chart.update(type="line", elements=[{"label": _label(l), "points": _points(l.get_xydata())} for l in lines])
    elif scatters:
        chart.update(type="scatter",
                     elements=[{"label": _label(c), "points": _points(c.get_offsets())} for c in scatters])
    else:
        chart.update(type="unknown", elements=[])
    return chart


def _figure_chart(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")  # also draws the figure: tick labels are known from here on
    axes = [ax for ax in figure.get_axes() if ax.get_visible()]
    if len(axes) == 1:
        chart = _axes_chart(axes[0])
    else:
        title = figure._suptitle.get_text() if getattr(figure, "_suptitle", None) else ""
        chart = {"type": "composite_chart", "title": title, "elements": [_axes_chart(ax) for ax in axes]}
    chart["png"] = base64.b64encode(buffer.getvalue()).decode("ascii")
    return chart


def show(*args, **kwargs):
    try:
        path = os.environ.get("DAYTONA_CHARTS_FILE")
        for manager in Gcf.get_all_fig_managers():
            try:
                line = json.dumps(_figure_chart(manager.canvas.figure), allow_nan=False)
            except Exception:
                continue
            if path:
                with open(path, "a") as out:
                    out.write(line + "\n")
    except Exception:
        pass
    finally:
        try:
            Gcf.destroy_all()
        except Exception:
            pass
'''


def prepare(tmpdir: str, env: Optional[Dict[str, str]], pythonpath: Optional[str]) -> Dict[str, str]:
    """Put the backend beside the run's code file and return the run's variables with matplotlib
    pointed at it (a backend the request chose wins). `pythonpath` is the run's PYTHONPATH so far:
    the directory goes in front, for python processes the code starts."""
    with open(os.path.join(tmpdir, BACKEND_MODULE + ".py"), "w", encoding="utf-8") as fh:
        fh.write(BACKEND_SOURCE)
    extra = dict(env or {})
    if "MPLBACKEND" not in extra:
        extra["MPLBACKEND"] = "module://" + BACKEND_MODULE
        extra["PYTHONPATH"] = tmpdir + (os.pathsep + pythonpath if pythonpath else "")
    extra["DAYTONA_CHARTS_FILE"] = os.path.join(tmpdir, CHARTS_FILE)
    return extra


def collect(tmpdir: str) -> List[Dict[str, Any]]:
    """The charts the run recorded, in order (none when it showed none or matplotlib is missing)."""
    charts: List[Dict[str, Any]] = []
    path = os.path.join(tmpdir, CHARTS_FILE)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return charts
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(MAX_CHARTS_BYTES + 1)
    if len(data) > MAX_CHARTS_BYTES:
        return charts  # a run that wrote this much is not describing charts
    for line in data.splitlines():
        try:
            chart = json.loads(line)
        except ValueError:
            continue
        if isinstance(chart, dict):
            charts.append(chart)
    return charts
