/*
 * pipeline.h: a repository's pipeline, `.ferry.yaml` at the commit being
 * built, parsed with libyaml into plain structs (nothing here refers to
 * libyaml). See README "Pipelines" for the format.
 */
#ifndef PIPELINE_H
#define PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#define PIPELINE_FILE		".ferry.yaml"
#define PIPELINE_MAX_BYTES	(1024 * 1024)
#define PIPELINE_OUTPUT_KEY_MAX	100

struct pipeline_stage {
	char	 *name;			/* [A-Za-z0-9._-]+, unique */
	char	**argv;			/* NULL-terminated; a string run is
					   {"/bin/sh", "-c", text, NULL} */
	int	  shell;		/* run was given as a string */
	int64_t	  timeout_ms;		/* 0: the server's default */
	char	**env;			/* "KEY=value", NULL-terminated */
	size_t	  nenv;
	int	  when_kinds;		/* CONF_TRIGGER_* bits; 0: any */
	char	**when_refs;		/* globs on the branch or tag name, or
					   on the full ref when they start
					   with refs/; none: any */
	size_t	  nwhen_refs;
	int	  continue_on_failure;
};

/* An image the pipeline builds; its inputs decide its content tag. */
struct pipeline_image {
	char	 *name;			/* [a-z0-9._-]+, unique */
	char	 *context;		/* folder in the repository; "." */
	char	 *dockerfile;		/* path in the repository */
	char	**args;			/* build args "KEY=value", sorted */
	size_t	  nargs;
	char	 *repository;		/* where it is pushed, or NULL */
};

struct pipeline {
	struct pipeline_stage	*stages;
	size_t			 nstages;
	struct pipeline_image	*images;
	size_t			 nimages;
	int			 werf;		/* the werf default flow */
};

struct pipeline	*pipeline_parse(const char *, size_t, const char *, char **);
struct pipeline	*pipeline_werf_default(void);
void		 pipeline_free(struct pipeline *);
int		 pipeline_stage_applies(const struct pipeline_stage *, int,
		     const char *);
void		 pipeline_outputs_parse(char *, void (*)(const char *,
		     const char *, void *), void *);
void		 pipeline_output_env_name(const char *, char *, size_t);
const struct pipeline_image *pipeline_image_find(const struct pipeline *,
		     const char *);

#endif
