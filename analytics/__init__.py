"""Analysis beside the services: the Making Data Count SPC engine (``spc``), its charts
(``charts``) and the ``pcnqi`` command line (``cli``). The measurement service and the CLI run
the same code, so a practice's file and the service's series are analysed alike."""
