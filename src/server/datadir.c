#include "server/datadir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

void
zg_harden_process(void)
{
	struct rlimit rl = {0, 0};
	/* Keys live in this process's memory: a core file would hold them. */
	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		zg_log_warn("cannot disable core dumps",
		    ZGF_S("reason", strerror(errno)));
	/* Not dumpable also means other non-root users cannot ptrace us. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		zg_log_warn("cannot mark the process non-dumpable",
		    ZGF_S("reason", strerror(errno)));
}

zg_err
zg_datadir_open(const char *dir, int *lock_fd, zg_errmsg *em)
{
	struct stat sb;
	char path[1100];
	int fd;

	*lock_fd = -1;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return zg_fail(em, ZG_ERR_IO,
		    "cannot create data directory %s: %s", dir, strerror(errno));
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return zg_fail(em, ZG_ERR_IO, "data path %s is not a directory",
		    dir);
	snprintf(path, sizeof(path), "%s/zguard.lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return zg_fail(em, ZG_ERR_IO, "cannot open %s: %s", path,
		    strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char pid[32] = "";
		ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
		if (n > 0)
			pid[n] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		close(fd);
		return zg_fail(em, ZG_ERR_LOCKED,
		    "data directory %s is in use by another zguard process "
		    "(pid %s); stop it or choose another --data directory", dir,
		    pid[0] ? pid : "unknown");
	}
	char pid[32];
	int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
		zg_log_warn("cannot record the pid in the lock file",
		    ZGF_S("path", path));
	*lock_fd = fd;
	return ZG_OK;
}
