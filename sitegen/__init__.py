"""sitegen: nightly chaos-test reports as PDFs, published as a static card site."""

__version__ = "0.1.0"
