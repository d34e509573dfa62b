"""The pieces of the funding list parsers (:mod:`observatory.parse.funding_csv`, ``funding_json``)."""
