/* The data directory: creation, its exclusive lock, and process hardening. */
#ifndef ZG_SERVER_DATADIR_H
#define ZG_SERVER_DATADIR_H

#include "base/errmsg.h"

/*
 * Creates dir with mode 0700 if needed and takes an exclusive lock on
 * dir/zguard.lock, recording our pid in it. Fails with ZG_ERR_LOCKED, and
 * a message naming the other process, if another zguard holds it. The lock
 * lasts until *lock_fd is closed or the process exits.
 */
zg_err zg_datadir_open(const char *dir, int *lock_fd, zg_errmsg *em);

/*
 * Disables core dumps and ptrace attachment by other non-root processes,
 * so that keys in memory cannot be read from a dump or a debugger.
 */
void zg_harden_process(void);

#endif
