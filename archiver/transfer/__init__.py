"""Captures in and out: import of WARC and WACZ (importer, with the WACZ unpacker wacz_unpack and the
input checks warc_check), WACZ export (wacz_export), BagIt export (bag_export), CDXJ (cdxj)."""
