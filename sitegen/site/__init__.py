"""The builder wing: scan -> extract (pypdf, cached) -> render (jinja2) -> write."""
