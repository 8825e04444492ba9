"""The installable app (PWA): its manifest and the service worker that keeps today's set offline.

The worker is a static file served from the site's root so that its scope is the whole site; it is
revalidated on every check (``no-cache``) so that a new release reaches installed phones at once.
"""

from flask import current_app, jsonify, send_from_directory, url_for

from . import bp

APP_NAME = "练兵比武"
THEME_COLOUR = "#c0392b"  # the top bar's --brand


@bp.get("/sw.js")
def service_worker():
    response = send_from_directory(current_app.static_folder, "js/sw.js", mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    icons = [
        {
            "src": url_for("static", filename=f"icons/icon-{size}.png"),
            "sizes": f"{size}x{size}",
            "type": "image/png",
            "purpose": "any maskable",  # the mark sits well inside the safe zone
        }
        for size in (192, 512)
    ]
    response = jsonify(
        name=APP_NAME,
        short_name=APP_NAME,
        description="人社系统练兵比武：日日学、周周练、月月比",
        lang="zh-CN",
        start_url=url_for("learn.home"),
        scope="/",
        display="standalone",
        background_color="#ffffff",
        theme_color=THEME_COLOUR,
        icons=icons,
        shortcuts=[{"name": "日日学", "url": url_for("learn.daily_page")}],
    )
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "no-cache"
    return response
