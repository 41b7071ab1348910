"""Validation with Great Expectations: suites, the GX engine, data docs, the quarantine.

The pipeline step itself is ``procmine.validate.validate_staged``.
"""
