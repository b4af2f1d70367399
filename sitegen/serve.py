"""Dev loop: watch + HTTP + live reload. Calls the builder, never the other way round.

(Being written under issue 4.)
"""
