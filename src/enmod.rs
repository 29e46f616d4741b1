//! mpmd-enmod and friends: the a2enmod of mpmd.
