/*
 * RB_ASSERT: evaluated in every build (this file is compiled with NDEBUG in the
 * default RelWithDebInfo build, and the check must still fire); a failure
 * aborts with one line that names the file, line, function and condition.
 */
#define NDEBUG 1
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rb/base/assert.h"
#include "testutil.h"

static int evaluations;

static int counted_true(void)
{
	evaluations++;
	return 1;
}

static void violate(int value)
{
	RB_ASSERT(value < 2);
}

int main(void)
{
	RB_ASSERT(counted_true());
	CHECK(evaluations == 1);

	int fds[2];
	CHECK(pipe(fds) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		violate(7);
		_exit(0); /* not reached when RB_ASSERT works */
	}
	close(fds[1]);
	char buf[512] = {0};
	size_t got = 0;
	while (got < sizeof buf - 1) {
		ssize_t r = read(fds[0], buf + got, sizeof buf - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fds[0]);
	int status = 0;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECKF(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %d", status);
	CHECKF(strstr(buf, "test_assert.c:") != NULL, "line: %s", buf);
	CHECKF(strstr(buf, ": violate: assertion failed: value < 2\n") != NULL, "line: %s", buf);
	CHECKF(strncmp(buf, "rb-aioutliers: ", 15) == 0, "line: %s", buf);
	return 0;
}
