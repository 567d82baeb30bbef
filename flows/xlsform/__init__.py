"""XLSForm import: a KoboToolbox/ODK questionnaire (.xlsx, .xls, .csv or .md) becomes one of our YAML flows.

`importer` runs the import; `pyxform_api` is everything taken from pyxform; `rows` maps question types,
`choices` the choices sheet, `rewriting` the expressions (on the parsed tree), `bounds` number ranges,
`texts` the texts the importer writes (from the interface catalogs), `refusals` what a chat cannot ask,
`languages` language column names, `result` what comes out.
"""

from flows.xlsform.importer import SUFFIXES, import_xlsform
from flows.xlsform.result import ImportResult, to_yaml

__all__ = ["SUFFIXES", "ImportResult", "import_xlsform", "to_yaml"]
