// Package migrate runs a release's database migration as a Kubernetes Job
// and waits for it, before any traffic moves: the release's image with a
// migration command, in the pod of the app's Deployment (its environment,
// secrets, service account and node placement), without the app's labels,
// ports and probes, so that no Service ever sends it a request.
//
// A Job is named after the image and the command, so that a rerun of the
// same release finds it: a completed one is not run again, a running one
// is waited for, and a failed one is replaced. A run that is cancelled
// leaves its Job running: a migration stopped part way can leave a schema
// that neither release reads, and the rerun waits for it instead.
package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
)

// Labels and annotations of the Jobs.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "deploy-actions"
	LabelMigration = "deploy-actions.dev/migration"
	// LabelApp holds the app's Deployment base name (Spec.App): the
	// migrations of one app, whose order says which one the schema is at.
	LabelApp          = "deploy-actions.dev/migration-app"
	AnnotationImage   = "deploy-actions.dev/image"
	AnnotationCommand = "deploy-actions.dev/command"
)

// Errors a run can end with.
var (
	// ErrFailed: the migration ran and failed (its logs are in the
	// Result), or could not start (an image that does not pull).
	ErrFailed = errors.New("migration failed")
	// ErrTimeout: it did not finish within the timeout; the Job's own
	// deadline stops it.
	ErrTimeout = errors.New("migration timed out")
)

// Spec is one migration.
type Spec struct {
	Namespace string
	// App is the app's Deployment base name, as given to JobName: its
	// Jobs are labelled with it, and a completed Job is reused only while
	// no other migration of the app (a down migration, an older release's)
	// ran after it.
	App string
	// Name is the Job's name (JobName).
	Name    string
	Image   string
	Command []string
	// Template is the pod the Job runs in, the app's (FindTemplate); nil
	// for a bare pod of Image, Command and Env.
	Template *corev1.PodTemplateSpec
	// Container is the template's container to run the command in: the
	// app's ("" for the first).
	Container string
	// Env is added to the container's environment, replacing variables of
	// the same names.
	Env []corev1.EnvVar
	// Timeout bounds the run (the Job's activeDeadlineSeconds).
	Timeout time.Duration
}

// Result is what a run did.
type Result struct {
	Job string
	// Reused is true when a Job of the same image and command had already
	// completed: nothing ran.
	Reused   bool
	Duration time.Duration
	// Logs is the end of the migration pod's log (LogLimit).
	Logs string
	// Reason is Kubernetes' word for a failure (BackoffLimitExceeded,
	// DeadlineExceeded, ErrImagePull, ...).
	Reason string
}

// A Result keeps the last logLines lines of the pod's log, at most
// LogLimit bytes of them.
const (
	logLines = 1000
	LogLimit = 64 << 10
)

// maxJobName is the longest Job name that leaves room for the pods' names
// (the Job controller adds a hyphen and 5 characters, and a pod name is a
// label value of the job-name label: 63).
const maxJobName = 52

// JobName is the Job of a migration: <base>-migrate-<hash of base, image
// and command>, cut to fit (the hash tells apart two bases cut to the same
// prefix; a dot, which a Deployment name may hold and a Job's DNS label
// may not, becomes a hyphen). base is the app's Deployment base name: the
// Job's pods are named <base>-migrate-..., which the monitoring queries'
// colour pattern (<base>-blue-..., <base>-green-...) leaves out.
func JobName(base, image string, command []string) string {
	sum := sha256.Sum256([]byte(base + "\x00" + image + "\x00" + strings.Join(command, "\x00")))
	hash := hex.EncodeToString(sum[:])[:10]
	prefix := strings.ReplaceAll(base, ".", "-") + "-migrate-"
	if len(prefix)+len(hash) > maxJobName {
		prefix = strings.TrimRight(prefix[:maxJobName-len(hash)-1], "-.") + "-"
	}
	return prefix + hash
}

// Check checks a Spec without a cluster.
func (s Spec) Check() error {
	var errs []error
	if problems := validation.IsDNS1123Label(s.Name); len(problems) > 0 || len(s.Name) > maxJobName {
		errs = append(errs, fmt.Errorf("job name %q: not a DNS label of at most %d characters: %s", s.Name, maxJobName, strings.Join(problems, "; ")))
	}
	if s.Image == "" {
		errs = append(errs, errors.New("no image"))
	}
	if len(s.Command) == 0 || s.Command[0] == "" {
		errs = append(errs, errors.New("no command"))
	}
	if s.Timeout <= 0 {
		errs = append(errs, errors.New("no timeout"))
	}
	return errors.Join(errs...)
}

// Job is the Job the Spec runs.
func (s Spec) Job() (*batchv1.Job, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	labels := map[string]string{LabelManagedBy: ManagedBy, LabelMigration: "true"}
	if s.App != "" {
		labels[LabelApp] = appLabel(s.App)
	}
	pod, err := s.pod()
	if err != nil {
		return nil, err
	}
	deadline := int64((s.Timeout + time.Second - 1) / time.Second)
	none := int32(0)
	// Kept a day: its logs can be read, and a rerun of the same release
	// finds it done.
	ttl := int32(24 * 60 * 60)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, Labels: labels, Annotations: map[string]string{
			AnnotationImage: s.Image, AnnotationCommand: strings.Join(s.Command, " "),
		}},
		Spec: batchv1.JobSpec{
			// A migration runs once: a retry after a failure is the next
			// run's, once someone has looked.
			BackoffLimit:            &none,
			ActiveDeadlineSeconds:   &deadline,
			TTLSecondsAfterFinished: &ttl,
			Template:                corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: pod},
		},
	}, nil
}

// pod is the template's pod spec with the one container that migrates:
// the app's, with the image and command, its environment and mounts, and
// no ports, probes or lifecycle hooks; other containers (sidecars would
// keep the Job from completing) and init containers are left out.
func (s Spec) pod() (corev1.PodSpec, error) {
	c := corev1.Container{Name: "migrate"}
	var spec corev1.PodSpec
	if s.Template != nil {
		spec = *s.Template.Spec.DeepCopy()
		i := 0
		if s.Container != "" {
			i = slices.IndexFunc(spec.Containers, func(c corev1.Container) bool { return c.Name == s.Container })
			if i < 0 {
				return corev1.PodSpec{}, fmt.Errorf("the pod template has no container %q", s.Container)
			}
		}
		if len(spec.Containers) == 0 {
			return corev1.PodSpec{}, errors.New("the pod template has no container")
		}
		c = spec.Containers[i]
		c.Ports, c.LivenessProbe, c.ReadinessProbe, c.StartupProbe, c.Lifecycle, c.RestartPolicy = nil, nil, nil, nil, nil, nil
	}
	c.Image, c.Command, c.Args = s.Image, s.Command, nil
	for _, e := range s.Env {
		if i := slices.IndexFunc(c.Env, func(x corev1.EnvVar) bool { return x.Name == e.Name }); i >= 0 {
			c.Env[i] = e
		} else {
			c.Env = append(c.Env, e)
		}
	}
	spec.Containers, spec.InitContainers, spec.EphemeralContainers = []corev1.Container{c}, nil, nil
	spec.RestartPolicy = corev1.RestartPolicyNever
	return spec, nil
}

// FindTemplate returns the pod template of the app's Deployment, and its
// name: <deployment> when it exists (one Deployment, as staging runs),
// else the live colour's <deployment>-<live> when live is known, else the
// one colour with replicas. nil, "" when there is none.
func FindTemplate(ctx context.Context, client kubernetes.Interface, namespace, deployment, live string) (*corev1.PodTemplateSpec, string, error) {
	get := func(name string) (*corev1.PodTemplateSpec, int32, error) {
		d, err := client.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, 0, err
		}
		replicas := int32(1)
		if d.Spec.Replicas != nil {
			replicas = *d.Spec.Replicas
		}
		return &d.Spec.Template, replicas, nil
	}
	candidates := []string{deployment}
	if live != "" {
		candidates = append(candidates, deployment+"-"+live)
	}
	for _, name := range candidates {
		t, _, err := get(name)
		if err == nil {
			return t, name, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, "", fmt.Errorf("reading Deployment %s/%s: %w", namespace, name, err)
		}
	}
	var found []string
	var tmpl *corev1.PodTemplateSpec
	for _, colour := range []string{"blue", "green"} {
		t, replicas, err := get(deployment + "-" + colour)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, "", fmt.Errorf("reading Deployment %s/%s-%s: %w", namespace, deployment, colour, err)
		case replicas > 0:
			found, tmpl = append(found, deployment+"-"+colour), t
		}
	}
	switch len(found) {
	case 0:
		return nil, "", nil
	case 1:
		return tmpl, found[0], nil
	}
	return nil, "", fmt.Errorf("both colours of %s/%s run and no live colour was given: say which pod to migrate in", namespace, deployment)
}

// Run runs the migration and waits for it: a completed Job of the same
// name is reused, a running one waited for, a failed one replaced. A
// failure is ErrFailed (the Result has the logs and the reason), a run
// past the timeout ErrTimeout; when ctx ends, the Job is left running.
func Run(ctx context.Context, client kubernetes.Interface, s Spec, report func(string)) (*Result, error) {
	if report == nil {
		report = func(string) {}
	}
	job, err := s.Job()
	if err != nil {
		return nil, err
	}
	res := &Result{Job: s.Name}
	start := time.Now()
	jobs := client.BatchV1().Jobs(s.Namespace)
	existing, err := jobs.Get(ctx, s.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		existing = nil
	case err != nil:
		return nil, fmt.Errorf("reading Job %s/%s: %w", s.Namespace, s.Name, err)
	}
	if existing != nil && (existing.Annotations[AnnotationImage] != s.Image || existing.Annotations[AnnotationCommand] != strings.Join(s.Command, " ")) {
		// Not a Job of this migration: neither reused nor deleted.
		return nil, fmt.Errorf("Job %s/%s exists and did not run this migration (its image %q, command %q): delete it, or it is not deploy-actions'", s.Namespace, s.Name,
			existing.Annotations[AnnotationImage], existing.Annotations[AnnotationCommand])
	}
	if existing != nil {
		done, failed, _ := finished(existing)
		later := ""
		if done && !failed {
			if later, err = ranAfter(ctx, client, s, existing); err != nil {
				return nil, err
			}
		}
		switch {
		case done && !failed && later != "":
			// The schema is where Job later left it: this migration,
			// say the up migration of a release rolled back since with a
			// down one, must run again.
			report(fmt.Sprintf("Job %s ran this migration before and completed, but Job %s of %s's migrations ran after it: running it again", s.Name, later, s.App))
			if err := deleteJob(ctx, client, s.Namespace, s.Name); err != nil {
				return nil, err
			}
			existing = nil
		case done && !failed:
			report(fmt.Sprintf("Job %s ran this migration (image and command) before and completed: nothing to run", s.Name))
			res.Reused = true
			res.Logs = podLogs(ctx, client, s.Namespace, s.Name)
			return res, nil
		case done:
			report(fmt.Sprintf("Job %s ran this migration before and failed: replacing it", s.Name))
			if err := deleteJob(ctx, client, s.Namespace, s.Name); err != nil {
				return nil, err
			}
			existing = nil
		default:
			report(fmt.Sprintf("Job %s is already running this migration (an earlier run of this release): waiting for it", s.Name))
		}
	}
	if existing == nil {
		switch _, err := jobs.Create(ctx, job, metav1.CreateOptions{}); {
		case apierrors.IsAlreadyExists(err):
			// Another run of the same release made it meanwhile.
			report(fmt.Sprintf("Job %s was made by another run of this release meanwhile: waiting for it", s.Name))
		case err != nil:
			return nil, fmt.Errorf("creating Job %s/%s: %w", s.Namespace, s.Name, err)
		default:
			report(fmt.Sprintf("Job %s: %s in %s", s.Name, strings.Join(s.Command, " "), s.Image))
		}
	}
	// The Job's deadline stops the pod; this one allows for the pod's
	// start and the controller's report.
	wait := s.Timeout + time.Minute
	err = waitJob(ctx, client, s.Namespace, s.Name, wait, res, report)
	res.Duration = time.Since(start)
	if ctx.Err() == nil {
		res.Logs = podLogs(context.WithoutCancel(ctx), client, s.Namespace, s.Name)
	}
	return res, err
}

// appLabel is the LabelApp value of an app: its base name when that is a
// label value, else a hash of it.
func appLabel(app string) string {
	if len(validation.IsValidLabelValue(app)) == 0 {
		return app
	}
	sum := sha256.Sum256([]byte(app))
	return "h-" + hex.EncodeToString(sum[:])[:20]
}

// ranAfter names a migration Job of the same app created after j, "" when
// there is none (or the Spec names no app).
func ranAfter(ctx context.Context, client kubernetes.Interface, s Spec, j *batchv1.Job) (string, error) {
	if s.App == "" {
		return "", nil
	}
	list, err := client.BatchV1().Jobs(s.Namespace).List(ctx, metav1.ListOptions{LabelSelector: LabelApp + "=" + appLabel(s.App)})
	if err != nil {
		return "", fmt.Errorf("listing the migration Jobs of %s/%s: %w", s.Namespace, s.App, err)
	}
	for _, o := range list.Items {
		if o.Name != j.Name && o.CreationTimestamp.After(j.CreationTimestamp.Time) {
			return o.Name, nil
		}
	}
	return "", nil
}

// finished reports whether the Job is done, and whether it failed, with
// the reason.
func finished(j *batchv1.Job) (done, failed bool, reason string) {
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, false, ""
		case batchv1.JobFailed:
			return true, true, c.Reason
		}
	}
	return false, false, ""
}

// pullFailures are the reasons a container waits that no wait will mend:
// a pull that failed again and again (not ErrImagePull, whose cause may
// pass: a registry's rate limit), a name that is none, a configuration
// the kubelet cannot make.
var pullFailures = []string{"ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError"}

func waitJob(ctx context.Context, client kubernetes.Interface, namespace, name string, timeout time.Duration, res *Result, report func(string)) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	started := false
	for {
		j, err := client.BatchV1().Jobs(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("reading Job %s/%s: %w", namespace, name, err)
		}
		if err == nil {
			if done, failed, reason := finished(j); done {
				if failed {
					res.Reason = reason
					return fmt.Errorf("%w: Job %s/%s: %s", ErrFailed, namespace, name, reason)
				}
				return nil
			}
			if !started && j.Status.Active > 0 {
				started = true
				report(fmt.Sprintf("Job %s: the migration is running", name))
			}
			if pod := newestPod(ctx, client, j); pod != nil {
				for _, cs := range pod.Status.ContainerStatuses {
					if w := cs.State.Waiting; w != nil && slices.Contains(pullFailures, w.Reason) {
						// The Job would wait for its deadline: end it now.
						res.Reason = w.Reason
						_ = deleteJob(context.WithoutCancel(ctx), client, namespace, name)
						return fmt.Errorf("%w: Job %s/%s could not start: %s: %s", ErrFailed, namespace, name, w.Reason, w.Message)
					}
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: Job %s/%s is not done after %s", ErrTimeout, namespace, name, timeout.Round(time.Second))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped waiting for Job %s/%s, which is left running: %w", namespace, name, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// newestPod is the Job's newest pod, nil when it has none: its own, by
// the Job's uid, not a pod of an earlier Job of the same name that is
// still terminating.
func newestPod(ctx context.Context, client kubernetes.Interface, job *batchv1.Job) *corev1.Pod {
	pods, err := client.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: batchv1.ControllerUidLabel + "=" + string(job.UID)})
	if err != nil || len(pods.Items) == 0 {
		return nil
	}
	newest := &pods.Items[0]
	for i := range pods.Items {
		if pods.Items[i].CreationTimestamp.After(newest.CreationTimestamp.Time) {
			newest = &pods.Items[i]
		}
	}
	return newest
}

// podLogs is the end of the Job's newest pod's log, "" when there is none.
func podLogs(ctx context.Context, client kubernetes.Interface, namespace, name string) string {
	job, err := client.BatchV1().Jobs(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	pod := newestPod(ctx, client, job)
	if pod == nil {
		return ""
	}
	lines, limit := int64(logLines), int64(LogLimit)
	stream, err := client.CoreV1().Pods(namespace).GetLogs(pod.Name, &corev1.PodLogOptions{TailLines: &lines, LimitBytes: &limit}).Stream(ctx)
	if err != nil {
		return ""
	}
	defer stream.Close()
	out, _ := io.ReadAll(io.LimitReader(stream, LogLimit))
	return string(out)
}

// deleteJob deletes the Job and its pods and waits until it is gone.
func deleteJob(ctx context.Context, client kubernetes.Interface, namespace, name string) error {
	bg := metav1.DeletePropagationBackground
	if err := client.BatchV1().Jobs(namespace).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Job %s/%s: %w", namespace, name, err)
	}
	for range 60 {
		if _, err := client.BatchV1().Jobs(namespace).Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("deleting Job %s/%s: still there after a minute", namespace, name)
}

// References are the Secrets and ConfigMaps the Job's pod refers to: by
// its container's env and envFrom, its volumes and its image pull secrets.
func (s Spec) References() (secrets, configMaps []string, err error) {
	pod, err := s.pod()
	if err != nil {
		return nil, nil, err
	}
	add := func(list *[]string, name string) {
		if name != "" && !slices.Contains(*list, name) {
			*list = append(*list, name)
		}
	}
	for _, c := range pod.Containers {
		for _, e := range c.Env {
			if f := e.ValueFrom; f != nil && f.SecretKeyRef != nil {
				add(&secrets, f.SecretKeyRef.Name)
			} else if f != nil && f.ConfigMapKeyRef != nil {
				add(&configMaps, f.ConfigMapKeyRef.Name)
			}
		}
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				add(&secrets, e.SecretRef.Name)
			}
			if e.ConfigMapRef != nil {
				add(&configMaps, e.ConfigMapRef.Name)
			}
		}
	}
	for _, v := range pod.Volumes {
		if v.Secret != nil {
			add(&secrets, v.Secret.SecretName)
		}
		if v.ConfigMap != nil {
			add(&configMaps, v.ConfigMap.Name)
		}
		if v.Projected != nil {
			for _, p := range v.Projected.Sources {
				if p.Secret != nil {
					add(&secrets, p.Secret.Name)
				}
				if p.ConfigMap != nil {
					add(&configMaps, p.ConfigMap.Name)
				}
			}
		}
	}
	for _, r := range pod.ImagePullSecrets {
		add(&secrets, r.Name)
	}
	return secrets, configMaps, nil
}

// The metadata by which Helm adopts an object it finds when it installs a
// release.
const (
	helmManagedBy        = "Helm"
	helmReleaseName      = "meta.helm.sh/release-name"
	helmReleaseNamespace = "meta.helm.sh/release-namespace"
)

// EnsureConfig makes, for a release not installed yet, the ConfigMaps and
// Secrets of config (the release's render) that the Job's pod refers to and
// the cluster lacks, with the metadata by which Helm adopts them when it
// installs release: a migration runs before its release, as a Helm
// pre-install hook does, and its pod must find its environment. What
// exists is left as it is (the release updates it). It returns the objects
// made, as Kind/name.
//
// They are made by a server-side apply as manager, the field manager of the
// Helm that installs the release (pkg/helm's FieldManager, "helm", for
// deploy and promote alike): Helm applies without forcing, and a field it
// shared with another manager (say one that created the object) would
// conflict as soon as a later release changed it.
func EnsureConfig(ctx context.Context, client kubernetes.Interface, s Spec, release, manager string, config []*unstructured.Unstructured) ([]string, error) {
	secrets, configMaps, err := s.References()
	if err != nil {
		return nil, err
	}
	if manager == "" {
		return nil, errors.New("no field manager to make the release's objects as")
	}
	var made []string
	for _, o := range config {
		kind, name := o.GetKind(), o.GetName()
		if !(kind == "Secret" && slices.Contains(secrets, name) || kind == "ConfigMap" && slices.Contains(configMaps, name)) {
			continue
		}
		labels := o.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[LabelManagedBy] = helmManagedBy
		annotations := o.GetAnnotations()
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[helmReleaseName], annotations[helmReleaseNamespace] = release, s.Namespace
		meta := metav1.ObjectMeta{Name: name, Namespace: s.Namespace, Labels: labels, Annotations: annotations}
		apply := metav1.ApplyOptions{FieldManager: manager}
		switch kind {
		case "Secret":
			var sec corev1.Secret
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &sec); err != nil {
				return made, fmt.Errorf("Secret %s: %w", name, err)
			}
			sec.ObjectMeta = meta
			_, err = client.CoreV1().Secrets(s.Namespace).Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				var ac *corev1ac.SecretApplyConfiguration
				if ac, err = applyConfig[corev1ac.SecretApplyConfiguration](&sec, "Secret"); err == nil {
					_, err = client.CoreV1().Secrets(s.Namespace).Apply(ctx, ac, apply)
				}
			} else if err == nil {
				continue
			}
		case "ConfigMap":
			var cm corev1.ConfigMap
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &cm); err != nil {
				return made, fmt.Errorf("ConfigMap %s: %w", name, err)
			}
			cm.ObjectMeta = meta
			_, err = client.CoreV1().ConfigMaps(s.Namespace).Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				var ac *corev1ac.ConfigMapApplyConfiguration
				if ac, err = applyConfig[corev1ac.ConfigMapApplyConfiguration](&cm, "ConfigMap"); err == nil {
					_, err = client.CoreV1().ConfigMaps(s.Namespace).Apply(ctx, ac, apply)
				}
			} else if err == nil {
				continue
			}
		}
		if err != nil {
			// The error names the object, never its data.
			return made, fmt.Errorf("making %s %s/%s for the migration: %w", kind, s.Namespace, name, err)
		}
		made = append(made, kind+"/"+name)
	}
	return made, nil
}

// applyConfig is obj as the apply configuration T of kind (core/v1).
func applyConfig[T any](obj any, kind string) (*T, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	m["apiVersion"], m["kind"] = "v1", kind
	delete(m["metadata"].(map[string]any), "creationTimestamp")
	if data, err = json.Marshal(m); err != nil {
		return nil, err
	}
	var ac T
	if err := json.Unmarshal(data, &ac); err != nil {
		return nil, err
	}
	return &ac, nil
}
