package traffic

import "errors"

// App names one app's objects: the live Service, and the Deployments of
// its two colours, <Deployment>-blue and <Deployment>-green, told apart by
// the label ColorLabel. The actions' inputs, the routers, the rollout and
// the state it records on the Service all use this one type.
type App struct {
	Namespace  string
	Service    string
	Deployment string
	// ColorLabel is the label that tells the colours apart; "" means
	// "version".
	ColorLabel string
}

// DefaultColorLabel is the colour label of an App that names none.
const DefaultColorLabel = "version"

// WithDefaults fills what a may leave empty.
func (a App) WithDefaults() App {
	if a.ColorLabel == "" {
		a.ColorLabel = DefaultColorLabel
	}
	return a
}

// Check reports an App that does not name its objects.
func (a App) Check() error {
	if a.Namespace == "" || a.Service == "" || a.Deployment == "" {
		return errors.New("namespace, service and deployment are required")
	}
	return nil
}

// DeploymentName is the Deployment of one colour.
func (a App) DeploymentName(colour string) string { return a.Deployment + "-" + colour }

// ColourService is the per-colour Service of the gateway-api and nginx
// routers.
func (a App) ColourService(colour string) string { return a.Service + "-" + colour }

// Other is the colour that is not colour.
func Other(colour string) string {
	if colour == "blue" {
		return "green"
	}
	return "blue"
}
