package migrate

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes/fake"
)

const image = "registry.example.com/fx-platform@sha256:1111111111111111111111111111111111111111111111111111111111111111"

var command = []string{"/app/sample-app", "migrate", "goto", "2"}

// appTemplate is a production-like pod: the app with probes, ports and a
// preStop hook, a sidecar, an init container, the app's labels.
func appTemplate() *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "fx-platform", "version": "blue"}},
		Spec: corev1.PodSpec{
			ServiceAccountName: "fx-platform",
			NodeSelector:       map[string]string{"deploy-actions.dev/node": "real"},
			InitContainers:     []corev1.Container{{Name: "wait-for-db", Image: "busybox"}},
			Containers: []corev1.Container{
				{Name: "proxy", Image: "envoy"},
				{
					Name: "fx-platform", Image: "registry.example.com/fx-platform@sha256:0000", Args: []string{"--listen", ":3000"},
					Env:            []corev1.EnvVar{{Name: "DATABASE_URL", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "url"}}}, {Name: "LOG_LEVEL", Value: "info"}},
					Ports:          []corev1.ContainerPort{{ContainerPort: 3000}},
					ReadinessProbe: &corev1.Probe{},
					LivenessProbe:  &corev1.Probe{},
					Lifecycle:      &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 10}}},
				},
			},
		},
	}
}

func TestJobName(t *testing.T) {
	a := JobName("fx-platform", image, command)
	if !strings.HasPrefix(a, "fx-platform-migrate-") || JobName("fx-platform", image, command) != a {
		t.Errorf("JobName = %q: want fx-platform-migrate-<hash>, the same each time", a)
	}
	if JobName("fx-platform", image, []string{"/app/sample-app", "migrate", "goto", "3"}) == a || JobName("fx-platform", image+"2", command) == a {
		t.Error("another command or image gave the same Job")
	}
	long := JobName(strings.Repeat("a", 50), image, command)
	if len(long) > maxJobName || len(validation.IsDNS1123Label(long)) > 0 || len(validation.IsDNS1123Label(long+"-x2k9p")) > 0 {
		t.Errorf("JobName of a long base = %q (%d): want a DNS label of at most %d that leaves room for the pods", long, len(long), maxJobName)
	}
}

// The Job runs the app's container with the release's image and the
// command, its environment and placement kept, and nothing a Service or
// the kubelet would treat as the app's: no app labels, ports, probes,
// hooks, sidecars or init containers.
func TestJobFromTheAppsPod(t *testing.T) {
	s := Spec{Namespace: "production", Name: JobName("fx-platform", image, command), Image: image, Command: command,
		Template: appTemplate(), Container: "fx-platform", Timeout: 5 * time.Minute,
		Env: []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "debug"}, {Name: "MIGRATION", Value: "1"}}}
	j, err := s.Job()
	if err != nil {
		t.Fatal(err)
	}
	pod := j.Spec.Template
	if pod.Labels["app"] != "" || pod.Labels["version"] != "" || pod.Labels[LabelMigration] != "true" {
		t.Errorf("pod labels %v: want the migration's, not the app's (the Service selects those)", pod.Labels)
	}
	if len(pod.Spec.Containers) != 1 || len(pod.Spec.InitContainers) != 0 {
		t.Fatalf("containers %d, init %d: want the app's alone", len(pod.Spec.Containers), len(pod.Spec.InitContainers))
	}
	c := pod.Spec.Containers[0]
	if c.Name != "fx-platform" || c.Image != image || strings.Join(c.Command, " ") != strings.Join(command, " ") || c.Args != nil {
		t.Errorf("container %s %s %q %q", c.Name, c.Image, c.Command, c.Args)
	}
	if c.Ports != nil || c.ReadinessProbe != nil || c.LivenessProbe != nil || c.Lifecycle != nil {
		t.Error("the migration kept the app's ports, probes or hooks")
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if env["LOG_LEVEL"] != "debug" || env["MIGRATION"] != "1" || c.Env[0].ValueFrom == nil {
		t.Errorf("env %v: want the app's (its secret reference kept) with the spec's over it", c.Env)
	}
	if pod.Spec.ServiceAccountName != "fx-platform" || pod.Spec.NodeSelector["deploy-actions.dev/node"] != "real" || pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("pod spec %+v: want the app's account and placement, never restarted", pod.Spec)
	}
	if *j.Spec.BackoffLimit != 0 || *j.Spec.ActiveDeadlineSeconds != 300 {
		t.Errorf("backoff %d, deadline %d: want one try within the timeout", *j.Spec.BackoffLimit, *j.Spec.ActiveDeadlineSeconds)
	}
	if _, err := (Spec{Namespace: "p", Name: s.Name, Image: image, Command: command, Template: appTemplate(), Container: "app", Timeout: time.Minute}).Job(); err == nil {
		t.Error("a container the template lacks was taken")
	}
	if _, err := (Spec{Namespace: "p", Name: s.Name, Image: image, Timeout: time.Minute}).Job(); err == nil {
		t.Error("a Spec without a command was taken")
	}
}

func deployment(name string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "production"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Template: *appTemplate()}}
}

func TestFindTemplate(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		deps   []*appsv1.Deployment
		live   string
		want   string
		errors bool
	}{
		{"one Deployment, as staging", []*appsv1.Deployment{deployment("fx-platform", 2)}, "", "fx-platform", false},
		{"the live colour", []*appsv1.Deployment{deployment("fx-platform-blue", 3), deployment("fx-platform-green", 3)}, "green", "fx-platform-green", false},
		{"the one colour running", []*appsv1.Deployment{deployment("fx-platform-blue", 0), deployment("fx-platform-green", 3)}, "", "fx-platform-green", false},
		{"both running, none said", []*appsv1.Deployment{deployment("fx-platform-blue", 3), deployment("fx-platform-green", 3)}, "", "", true},
		{"none", nil, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset()
			for _, d := range tc.deps {
				if _, err := client.AppsV1().Deployments("production").Create(ctx, d, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			tmpl, name, err := FindTemplate(ctx, client, "production", "fx-platform", tc.live)
			if (err != nil) != tc.errors || name != tc.want || (tmpl != nil) != (tc.want != "") {
				t.Errorf("FindTemplate = %v, %q, %v; want %q", tmpl != nil, name, err, tc.want)
			}
		})
	}
}

// finish marks the Job's condition once it exists and has none, as the
// Job controller would after its pod ended.
func finish(t *testing.T, client *fake.Clientset, name string, cond batchv1.JobConditionType, reason string) {
	go func() {
		ctx := context.Background()
		for range 200 {
			// A Job that has finished already is the one Run replaces.
			j, err := client.BatchV1().Jobs("production").Get(ctx, name, metav1.GetOptions{})
			if err == nil && len(j.Status.Conditions) == 0 {
				j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: cond, Status: corev1.ConditionTrue, Reason: reason})
				if _, err := client.BatchV1().Jobs("production").UpdateStatus(ctx, j, metav1.UpdateOptions{}); err != nil {
					t.Errorf("marking the Job: %v", err)
				}
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Error("the Job was never created")
	}()
}

func TestRun(t *testing.T) {
	ctx := context.Background()
	s := Spec{Namespace: "production", Name: JobName("fx-platform", image, command), Image: image, Command: command, Timeout: time.Minute}

	client := fake.NewClientset()
	finish(t, client, s.Name, batchv1.JobComplete, "")
	res, err := Run(ctx, client, s, nil)
	if err != nil || res.Reused || res.Job != s.Name {
		t.Fatalf("first run: %+v, %v", res, err)
	}
	var said []string
	res, err = Run(ctx, client, s, func(m string) { said = append(said, m) })
	if err != nil || !res.Reused || len(said) == 0 || !strings.Contains(said[0], "nothing to run") {
		t.Errorf("rerun of a completed migration: %+v, %v, %q; want it reused", res, err, said)
	}

	failing := fake.NewClientset()
	finish(t, failing, s.Name, batchv1.JobFailed, "BackoffLimitExceeded")
	res, err = Run(ctx, failing, s, nil)
	if !errors.Is(err, ErrFailed) || res.Reason != "BackoffLimitExceeded" {
		t.Errorf("a failing migration: %+v, %v", res, err)
	}
	// The rerun replaces the failed Job and runs again.
	finish(t, failing, s.Name, batchv1.JobComplete, "")
	if res, err := Run(ctx, failing, s, nil); err != nil || res.Reused {
		t.Errorf("the rerun after a failure: %+v, %v; want it run again", res, err)
	}

	cancelled, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	running := fake.NewClientset()
	if _, err := Run(cancelled, running, s, nil); err == nil || !strings.Contains(err.Error(), "left running") {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := running.BatchV1().Jobs("production").Get(ctx, s.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("the cancelled run's Job: %v; want it left running", err)
	}
}

// TestJobNameBases: two long bases cut to the same prefix, and a base with
// a dot (a valid Deployment name), give valid, different Jobs.
func TestJobNameBases(t *testing.T) {
	a := JobName("fx-platform-trading-engine-europe-west1-primary-api", image, command)
	b := JobName("fx-platform-trading-engine-europe-west1-primary-worker", image, command)
	if a == b {
		t.Errorf("two apps' migrations share the Job %s: the second would be taken as already applied", a)
	}
	dotted := Spec{Namespace: "production", Name: JobName("fx.platform", image, command), Image: image, Command: command, Timeout: time.Minute}
	if err := dotted.Check(); err != nil {
		t.Errorf("the Job of Deployment fx.platform: %v", err)
	}
}

// completedJob is a migration Job of app fx-platform that completed,
// created at the given time.
func completedJob(name, img string, cmd []string, created time.Time) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "production", CreationTimestamp: metav1.NewTime(created),
			Labels:      map[string]string{LabelApp: "fx-platform", LabelMigration: "true"},
			Annotations: map[string]string{AnnotationImage: img, AnnotationCommand: strings.Join(cmd, " ")}},
		Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}},
	}
}

// TestRunAfterADownMigration: v2's up migration completed, then a rollback
// ran the down migration; promoting v2 again must run the up migration
// again, not take the old Job as already applied (the schema is v1's).
func TestRunAfterADownMigration(t *testing.T) {
	ctx := context.Background()
	up := Spec{Namespace: "production", App: "fx-platform", Name: JobName("fx-platform", image, command), Image: image, Command: command, Timeout: time.Minute}
	down := []string{"/app/sample-app", "migrate", "goto", "1"}
	t0 := time.Now().Add(-time.Hour)
	client := fake.NewClientset(
		completedJob(up.Name, image, command, t0),
		completedJob(JobName("fx-platform", image, down), image, down, t0.Add(10*time.Minute)))
	finish(t, client, up.Name, batchv1.JobComplete, "")
	res, err := Run(ctx, client, up, nil)
	if err != nil || res.Reused {
		t.Errorf("the up migration after a down one: %+v, %v; want it run again", res, err)
	}
	j, err := client.BatchV1().Jobs("production").Get(ctx, up.Name, metav1.GetOptions{})
	if err != nil || j.Labels[LabelApp] != "fx-platform" {
		t.Errorf("the new Job: %v, labels %v; want labelled with its app", err, j.Labels)
	}

	// With no later migration of the app, the completed Job is reused.
	again := fake.NewClientset(completedJob(up.Name, image, command, t0), completedJob("other-app-migrate-x", image, down, t0.Add(time.Minute)))
	if l, _ := again.BatchV1().Jobs("production").Get(ctx, "other-app-migrate-x", metav1.GetOptions{}); l != nil {
		l.Labels[LabelApp] = "other-app"
		if _, err := again.BatchV1().Jobs("production").Update(ctx, l, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := Run(ctx, again, up, nil); err != nil || !res.Reused {
		t.Errorf("a rerun with no later migration of the app: %+v, %v; want it reused", res, err)
	}
}

// TestRunSomeoneElsesJob: a completed Job of the same name that ran
// another image or command is neither reused nor deleted.
func TestRunSomeoneElsesJob(t *testing.T) {
	ctx := context.Background()
	s := Spec{Namespace: "production", App: "fx-platform", Name: JobName("fx-platform", image, command), Image: image, Command: command, Timeout: time.Minute}
	client := fake.NewClientset(completedJob(s.Name, "registry.example.com/other@sha256:2222", []string{"rm", "-rf", "/"}, time.Now()))
	res, err := Run(ctx, client, s, nil)
	if err == nil || (res != nil && res.Reused) {
		t.Errorf("another migration's Job: %+v, %v; want it refused", res, err)
	}
	if _, err := client.BatchV1().Jobs("production").Get(ctx, s.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("the other Job: %v; want it left", err)
	}
}
