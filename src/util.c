/*
 * Small helpers with no state: hex, HMAC and digests (OpenSSL), constant-time
 * comparison, git ref and object-name checks, glob matching, bounded file
 * reads and URL decoding.
 */
#include "config.h"

#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "xmalloc.h"

/* Write len bytes as lowercase hex into out, which holds 2*len+1. */
void
hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char	digits[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/*
 * Decode exactly outlen bytes from the first inlen characters of in, which
 * must be 2*outlen hex digits of either case. Returns 0 or -1.
 */
int
hex_decode(const char *in, size_t inlen, unsigned char *out, size_t outlen)
{
	size_t	i;
	int	hi, lo;

	if (inlen != 2 * outlen)
		return (-1);
	for (i = 0; i < outlen; i++) {
		hi = hex_value((unsigned char)in[2 * i]);
		lo = hex_value((unsigned char)in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return (-1);
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return (0);
}

/* HMAC-SHA256 of msg under key into out. Returns 0 or -1. */
int
hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
    unsigned char out[32])
{
	unsigned int	len = 32;

	if (HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, out,
	    &len) == NULL || len != 32)
		return (-1);
	return (0);
}

/* SHA-256 of data as 64 lowercase hex digits. */
void
sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		fatalx("EVP_Digest failed");
	hex_encode(md, 32, out);
}

/*
 * Compare two secrets in time that depends only on their lengths, which are
 * not secret. Returns 1 when equal.
 */
int
ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return (0);
	return (CRYPTO_memcmp(a, b, alen) == 0);
}

/*
 * Whether name is a full ref that git itself would accept
 * (git-check-ref-format rules): starts with "refs/", no control characters,
 * spaces or any of ~^:?*[\, no "..", "@{", "//", no component that starts
 * with "." or ends with ".lock", does not end with "/" or ".". Refs reach
 * commands only through the environment, but a ref git would refuse can only
 * be an attack or a bug, so it is rejected at the door.
 */
int
ref_is_valid(const char *name)
{
	const char	*p, *comp;
	size_t		 len, clen;

	if (name == NULL || strncmp(name, "refs/", 5) != 0)
		return (0);
	len = strlen(name);
	if (len > 1024 || name[len - 1] == '/' || name[len - 1] == '.')
		return (0);
	if (strstr(name, "..") != NULL || strstr(name, "@{") != NULL ||
	    strstr(name, "//") != NULL || strcmp(name, "@") == 0)
		return (0);
	for (p = name; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f || c == ' ' ||
		    strchr("~^:?*[\\", c) != NULL)
			return (0);
	}
	comp = name;
	while (*comp != '\0') {
		p = strchr(comp, '/');
		clen = p == NULL ? strlen(comp) : (size_t)(p - comp);
		if (clen == 0 || comp[0] == '.')
			return (0);
		if (clen >= 5 && strncmp(comp + clen - 5, ".lock", 5) == 0)
			return (0);
		if (p == NULL)
			break;
		comp = p + 1;
	}
	/* A bare "refs/heads/" or "refs/tags/" names nothing. */
	if (strcmp(name, "refs/heads") == 0 || strcmp(name, "refs/tags") == 0)
		return (0);
	return (1);
}

/*
 * Whether s looks like a git object name: 7 to 64 lowercase or uppercase
 * hex digits (Bitbucket Cloud sends 12-digit abbreviations for merges).
 */
int
sha_is_valid(const char *s)
{
	size_t	i;

	if (s == NULL)
		return (0);
	for (i = 0; s[i] != '\0'; i++) {
		if (!isxdigit((unsigned char)s[i]) || i >= 64)
			return (0);
	}
	return (i >= 7);
}

/* Whether s is git's "no object": one or more '0' and nothing else. */
int
sha_is_zero(const char *s)
{
	if (s == NULL || *s == '\0')
		return (0);
	for (; *s != '\0'; s++) {
		if (*s != '0')
			return (0);
	}
	return (1);
}

/*
 * Shell-style glob match for branch and tag patterns. A star does not cross
 * a slash, so release/STAR does not match release/a/b; a double star does.
 */
int
glob_match(const char *pattern, const char *name)
{
	if (strstr(pattern, "**") != NULL)
		return (fnmatch(pattern, name, 0) == 0);
	return (fnmatch(pattern, name, FNM_PATHNAME) == 0);
}

/*
 * Read a whole file of at most max bytes. Returns a NUL-terminated copy the
 * caller frees, with its length in *lenp when lenp is not NULL; NULL with
 * *cause set on failure.
 */
char *
read_file(const char *path, size_t max, size_t *lenp, char **cause)
{
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	return (read_fd(fd, path, max, lenp, cause));
}

/*
 * read_file of dir/sub/name, for a folder that someone else (a stage) may
 * write: no symbolic link is followed on the way (dir itself excepted),
 * and a FIFO or device is refused without blocking on it.
 */
char *
read_file_beneath(const char *dir, const char *sub, const char *name,
    size_t max, size_t *lenp, char **cause)
{
	int	dfd, sfd, fd;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s: %s", dir, strerror(errno));
		return (NULL);
	}
	sfd = openat(dfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	if (sfd == -1) {
		xasprintf(cause, "%s/%s: %s", dir, sub, strerror(errno));
		return (NULL);
	}
	fd = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	close(sfd);
	if (fd == -1) {
		xasprintf(cause, "%s/%s/%s: %s", dir, sub, name,
		    strerror(errno));
		return (NULL);
	}
	return (read_fd(fd, name, max, lenp, cause));
}

/* Read the regular file open on fd (closed here); path names it. */
char *
read_fd(int fd, const char *path, size_t max, size_t *lenp, char **cause)
{
	struct stat	 st;
	char		*buf;
	size_t		 off = 0;
	ssize_t		 n;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		xasprintf(cause, "%s: not a regular file", path);
		close(fd);
		return (NULL);
	}
	if ((size_t)st.st_size > max) {
		xasprintf(cause, "%s: larger than %zu bytes", path, max);
		close(fd);
		return (NULL);
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			xasprintf(cause, "%s: read failed", path);
			free(buf);
			close(fd);
			return (NULL);
		}
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	if (lenp != NULL)
		*lenp = off;
	return (buf);
}

/*
 * Read a secret: the first line of a file of at most 4 KB, without its line
 * ending. Returns a string the caller wipes and frees, with its length in
 * *lenp; NULL with *cause set if the file cannot be read or is empty.
 */
char *
read_secret(const char *path, size_t *lenp, char **cause)
{
	char	*buf;
	size_t	 len;

	if ((buf = read_file(path, 4096, &len, cause)) == NULL)
		return (NULL);
	len = strcspn(buf, "\r\n");
	if (len == 0) {
		free(buf);
		xasprintf(cause, "%s: empty secret", path);
		return (NULL);
	}
	explicit_bzero(buf + len, strlen(buf + len));
	buf[len] = '\0';
	*lenp = len;
	return (buf);
}

/*
 * Decode application/x-www-form-urlencoded text ("+" is a space). Returns a
 * NUL-terminated copy the caller frees and its length in *outlen, or NULL
 * on a malformed escape.
 */
char *
url_decode(const char *in, size_t len, size_t *outlen)
{
	char	*out;
	size_t	 i, o = 0;
	int	 hi, lo;

	out = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		if (in[i] == '+')
			out[o++] = ' ';
		else if (in[i] == '%') {
			if (i + 2 >= len) {
				free(out);
				return (NULL);
			}
			hi = hex_value((unsigned char)in[i + 1]);
			lo = hex_value((unsigned char)in[i + 2]);
			if (hi < 0 || lo < 0) {
				free(out);
				return (NULL);
			}
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			out[o++] = in[i];
	}
	out[o] = '\0';
	*outlen = o;
	return (out);
}

/*
 * Length of the UTF-8 sequence at s (n bytes available) if it is valid and
 * minimal (no overlong forms, no surrogates, nothing past U+10FFFF), else 0.
 */
size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned	c = s[0];

	if (c < 0x80)
		return (1);
	if (c >= 0xc2 && c <= 0xdf)
		return (n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0);
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return (0);
		if (c == 0xe0 && s[1] < 0xa0)		/* overlong */
			return (0);
		if (c == 0xed && s[1] >= 0xa0)		/* surrogate */
			return (0);
		return (3);
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return (0);
		if (c == 0xf0 && s[1] < 0x90)		/* overlong */
			return (0);
		if (c == 0xf4 && s[1] >= 0x90)		/* > U+10FFFF */
			return (0);
		return (4);
	}
	return (0);
}

/* Make b an empty buffer. */
void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Append len bytes; the data stays NUL-terminated. */
void
buf_add(struct buf *b, const void *p, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		while (b->len + len + 1 > b->cap)
			b->cap = b->cap == 0 ? 512 : b->cap * 2;
		b->data = xreallocarray(b->data, b->cap, 1);
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
buf_addstr(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/*
 * Append s as a JSON string, quoted and escaped; NULL becomes null. Bytes
 * that are not valid UTF-8 (a header can carry anything) become U+FFFD.
 */
void
buf_add_json_str(struct buf *b, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)s, *run;
	char			 esc[7];
	size_t			 n, left;

	if (s == NULL) {
		buf_add(b, "null", 4);
		return;
	}
	buf_add(b, "\"", 1);
	left = strlen(s);
	while (left > 0) {
		run = p;
		while (left > 0 && *p >= 0x20 && *p < 0x7f && *p != '"' &&
		    *p != '\\') {
			p++;
			left--;
		}
		buf_add(b, run, (size_t)(p - run));
		if (left == 0)
			break;
		if (*p >= 0x80) {
			if ((n = utf8_seq_len(p, left)) == 0) {
				buf_add(b, "\\ufffd", 6);
				n = 1;
			} else
				buf_add(b, p, n);
			p += n;
			left -= n;
			continue;
		}
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			buf_add(b, esc, 2);
		} else if (*p == '\n')
			buf_add(b, "\\n", 2);
		else {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 0xf];
			buf_add(b, esc, 6);
		}
		p++;
		left--;
	}
	buf_add(b, "\"", 1);
}

/* Append a decimal integer. */
void
buf_add_int(struct buf *b, long long v)
{
	char	tmp[32];
	int	n;

	n = snprintf(tmp, sizeof tmp, "%lld", v);
	buf_add(b, tmp, (size_t)n);
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

/* Wall-clock milliseconds since the epoch. */
int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * Parse a duration such as "90s", "10m", "1h", "250ms" or a bare number of
 * seconds into milliseconds. Returns 0 or -1.
 */
int
parse_duration(const char *s, int64_t *ms)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || v < 0 || v > 100000000)
		return (-1);
	if (*end == '\0' || strcmp(end, "s") == 0)
		*ms = v * 1000;
	else if (strcmp(end, "ms") == 0)
		*ms = v;
	else if (strcmp(end, "m") == 0)
		*ms = v * 60 * 1000;
	else if (strcmp(end, "h") == 0)
		*ms = v * 3600 * 1000;
	else
		return (-1);
	return (0);
}

static int
remove_tree_cb(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	return (remove(path) == 0 || errno == ENOENT ? 0 : -1);
}

/* Remove a folder and everything in it (no symlink is followed). */
int
remove_tree(const char *path)
{
	return (nftw(path, remove_tree_cb, 32, FTW_DEPTH | FTW_PHYS));
}

/* Create dir and the folders above it that are missing, with mode. */
int
mkdirs(const char *dir, mode_t mode)
{
	char	*copy, *p;

	copy = xstrdup(dir);
	for (p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) == -1 && errno != EEXIST) {
			free(copy);
			return (-1);
		}
		*p = '/';
	}
	free(copy);
	return (mkdir(dir, mode) == -1 && errno != EEXIST ? -1 : 0);
}

/* Standard base64 with padding of len bytes. Caller frees. */
char *
base64_encode(const void *data, size_t len)
{
	static const char	 tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char	*p = data;
	char			*out, *o;
	size_t			 i;
	unsigned		 v;

	out = o = xmalloc(4 * ((len + 2) / 3) + 1);
	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		*o++ = tab[v >> 18];
		*o++ = tab[v >> 12 & 63];
		*o++ = tab[v >> 6 & 63];
		*o++ = tab[v & 63];
	}
	if (i < len) {
		v = (unsigned)p[i] << 16 | (i + 1 < len ?
		    (unsigned)p[i + 1] << 8 : 0);
		*o++ = tab[v >> 18];
		*o++ = tab[v >> 12 & 63];
		*o++ = i + 1 < len ? tab[v >> 6 & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return (out);
}

/* Append a copy of s, keeping the vector NULL-terminated. */
void
strv_add(struct strv *sv, const char *s)
{
	sv->v = xreallocarray(sv->v, sv->n + 2, sizeof *sv->v);
	sv->v[sv->n++] = xstrdup(s);
	sv->v[sv->n] = NULL;
}

void
strv_addf(struct strv *sv, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		fatal("vasprintf");
	va_end(ap);
	sv->v = xreallocarray(sv->v, sv->n + 2, sizeof *sv->v);
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

void
strv_free(struct strv *sv)
{
	size_t	i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}
