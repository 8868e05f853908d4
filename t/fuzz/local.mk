# Fuzz targets: filled in by t/fuzz work.
