"""Measurements on trained networks: the ensemble view and co-adaptation.

- :mod:`dropout_lib.analysis.ensembles`: subnetworks, their exact mean and
  NWGM, the weight-scaling rule, MC averaging and bagging.
- :mod:`dropout_lib.analysis.coadaptation`: knock-outs, pair interactions and
  activation statistics.
"""

from . import coadaptation, ensembles

__all__ = ["coadaptation", "ensembles"]
