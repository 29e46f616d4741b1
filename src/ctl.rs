//! mpmctl: the apachectl of mpmd.
