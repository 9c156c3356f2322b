"""Charts drawn on the server: CSS bars and an inline SVG, no script and no CDN."""

from django import template

register = template.Library()

SVG_HEIGHT = 120
COLUMN_WIDTH = 24


@register.inclusion_tag("moderation/partials/bar_rows.html")
def bar_rows(rows):
    top = max((value for _, value in rows), default=0) or 1
    return {"rows": [(label, value, round(value * 100 / top)) for label, value in rows]}


@register.inclusion_tag("moderation/partials/day_columns.html")
def day_columns(days):
    top = max((value for _, value in days), default=0) or 1
    columns = []
    for i, (day, value) in enumerate(days):
        height = round(value * SVG_HEIGHT / top)
        columns.append(
            {
                "day": day,
                "value": value,
                "x": i * COLUMN_WIDTH + 2,
                "y": SVG_HEIGHT - height,
                "height": height,
            }
        )
    return {
        "columns": columns,
        "width": len(days) * COLUMN_WIDTH,
        "height": SVG_HEIGHT,
        "bar_width": COLUMN_WIDTH - 4,
    }
