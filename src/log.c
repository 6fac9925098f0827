/*
 * Logging. Messages go to stderr, one line each, prefixed with the program
 * name; under systemd stderr is the journal. log_debug is shown only with -v.
 * log_warn and fatal append strerror(errno).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char	*log_name = "ferry";
static int		 log_verbose;

/* Set the program name shown on every line and the verbosity. */
void
log_init(const char *name, int verbose)
{
	log_name = name;
	log_verbose = verbose;
}

void
log_set_verbose(int verbose)
{
	log_verbose = verbose;
}

static void log_vwrite(const char *, const char *, va_list, int)
    __attribute__((__format__(__printf__, 2, 0)));

static void
log_vwrite(const char *level, const char *fmt, va_list ap, int err)
{
	char	buf[2048];
	int	n;

	n = vsnprintf(buf, sizeof buf, fmt, ap);
	if (n < 0)
		return;
	if (err != 0)
		fprintf(stderr, "%s: %s%s: %s\n", log_name, level, buf,
		    strerror(err));
	else
		fprintf(stderr, "%s: %s%s\n", log_name, level, buf);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite("warning: ", fmt, ap, saved);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite("warning: ", fmt, ap, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite("", fmt, ap, 0);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_vwrite("debug: ", fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite("fatal: ", fmt, ap, saved);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite("fatal: ", fmt, ap, 0);
	va_end(ap);
	exit(1);
}
