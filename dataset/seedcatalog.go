package dataset

import (
	"math/rand/v2"
	"strconv"
)

type seedCategory struct{ id, name string }

type seedVendor struct{ id, name, url string }

type seedCatalogApp struct {
	id, name, logo, kind string
	vendor               *seedVendor
	cats                 []*seedCategory
}

type seedCatalog struct {
	famous, special, generated []*seedCatalogApp
}

var seedCategoryNames = []string{
	"AI", "Analytics", "Collaboration", "Communication", "CRM", "Customer Support",
	"Design", "Developer Tools", "Finance", "HR", "IT Management", "Legal",
	"Marketing", "Productivity", "Project Management", "Sales", "Security",
	"Storage", "Video Conferencing",
}

type appSpec struct {
	name, vendor, url, kind string
	cats                    []string
}

// famousApps lead every client's popularity ranking; several share a vendor.
var famousApps = []appSpec{
	{"Slack", "Salesforce, Inc.", "https://www.salesforce.com", "desktop", []string{"Communication"}},
	{"Google Workspace", "Google LLC", "https://workspace.google.com", "browser", []string{"Productivity", "Collaboration", "Storage"}},
	{"Zoom", "Zoom Video Communications, Inc.", "https://zoom.us", "desktop", []string{"Video Conferencing", "Communication"}},
	{"Microsoft Teams", "Microsoft Corporation", "https://www.microsoft.com", "desktop", []string{"Communication", "Video Conferencing"}},
	{"Jira", "Atlassian", "https://www.atlassian.com", "browser", []string{"Project Management", "Developer Tools"}},
	{"Microsoft Outlook", "Microsoft Corporation", "https://www.microsoft.com", "desktop", []string{"Communication"}},
	{"Confluence", "Atlassian", "https://www.atlassian.com", "browser", []string{"Collaboration"}},
	{"GitHub", "GitHub, Inc.", "https://github.com", "browser", []string{"Developer Tools"}},
	{"Notion", "Notion Labs, Inc.", "https://www.notion.so", "browser", []string{"Productivity"}},
	{"Figma", "Figma, Inc.", "https://www.figma.com", "browser", []string{"Design"}},
	{"Salesforce Sales Cloud", "Salesforce, Inc.", "https://www.salesforce.com", "browser", []string{"CRM", "Sales"}},
	{"ChatGPT", "OpenAI", "https://openai.com", "browser", []string{"AI", "Productivity"}},
	{"1Password", "AgileBits Inc.", "https://1password.com", "desktop", []string{"Security"}},
	{"Dropbox", "Dropbox, Inc.", "https://www.dropbox.com", "desktop", []string{"Storage"}},
	{"Tableau", "Salesforce, Inc.", "https://www.salesforce.com", "desktop", []string{"Analytics"}},
	{"Asana", "Asana, Inc.", "https://asana.com", "browser", []string{"Project Management"}},
	{"HubSpot", "HubSpot, Inc.", "https://www.hubspot.com", "browser", []string{"CRM", "Marketing"}},
	{"Zendesk", "Zendesk, Inc.", "https://www.zendesk.com", "browser", []string{"Customer Support"}},
	{"Workday", "Workday, Inc.", "https://www.workday.com", "browser", []string{"HR", "Finance"}},
	{"Trello", "Atlassian", "https://www.atlassian.com", "mobile", []string{"Project Management"}},
	{"Loom", "Atlassian", "https://www.atlassian.com", "desktop", nil},
	{"Miro", "Miro", "https://miro.com", "browser", []string{"Collaboration", "Design"}},
	{"DocuSign", "DocuSign, Inc.", "https://www.docusign.com", "browser", []string{"Legal"}},
	{"Okta", "Okta, Inc.", "https://www.okta.com", "browser", []string{"Security", "IT Management"}},
	{"Datadog", "Datadog, Inc.", "https://www.datadoghq.com", "browser", []string{"Developer Tools", "IT Management"}},
	{"Canva", "Canva Pty Ltd", "https://www.canva.com", "browser", []string{"Design", "Marketing"}},
	{"Calendly", "Calendly LLC", "https://calendly.com", "browser", nil},
	{"WhatsApp", "Meta Platforms, Inc.", "https://www.meta.com", "mobile", []string{"Communication"}},
	{"Expensify", "Expensify, Inc.", "https://www.expensify.com", "mobile", []string{"Finance"}},
	{"LinkedIn Sales Navigator", "Microsoft Corporation", "https://www.microsoft.com", "browser", []string{"Sales"}},
}

// specialApps exercise CSV quoting, non-ASCII text and spreadsheet formula
// injection; every scale puts all of them into the first client.
var specialApps = []appSpec{
	{"Acme Reports, Enterprise", "Acme Analytics, LLC", "https://acme-analytics.example.com", "browser", []string{"Analytics", "Finance"}},
	{`The "Best" Board`, "Best Boards", "https://bestboards.example.com", "browser", []string{"Collaboration"}},
	{"ÉCLAIR Pro", "Éclair Systèmes SA", "https://eclair.example.fr", "desktop", []string{"Design"}},
	{"Zoë Notes", "Zoë Software GmbH", "https://zoe-notes.example.de", "mobile", nil},
	{"=HYPERLINK Tracker", "Formula Labs", "https://formula-labs.example.com", "browser", []string{"Marketing", "Analytics", "Sales"}},
}

var (
	nameStems = []string{"Acorn", "Alpine", "Amber", "Apex", "Arc", "Aurora", "Beacon", "Birch", "Blue", "Bright",
		"Cedar", "Cinder", "Cobalt", "Comet", "Coral", "Crisp", "Delta", "Echo", "Ember", "Falcon",
		"Fern", "Flux", "Granite", "Harbor", "Helix", "Indigo", "Iris", "Juniper", "Keystone", "Lumen",
		"Maple", "Meridian", "Nimbus", "Nova", "Onyx", "Orbit", "Pine", "Prism", "Quartz", "Raven",
		"Ridge", "Sable", "Sierra", "Slate", "Solar", "Spruce", "Summit", "Tidal", "Vertex", "Willow"}
	nameNouns = []string{"Analytics", "Base", "Board", "Books", "Chat", "Cloud", "CRM", "Desk", "Docs", "Drive",
		"Flow", "Forms", "Hub", "Insights", "Ledger", "Mail", "Maps", "Meet", "Metrics", "Notes",
		"Pay", "Pilot", "Planner", "Point", "Portal", "Reports", "Scheduler", "Sheets", "Sign", "Space",
		"Stack", "Studio", "Survey", "Sync", "Tasks", "Track", "Vault", "View", "Wiki", "Works"}
	vendorStems = []string{"Northwind", "Contoso", "Fabrikam", "Tailspin", "Wingtip", "Litware", "Proseware",
		"Adatum", "Lucerne", "Humongous", "Coho", "Woodgrove", "Trey", "Fourth Coffee", "Wide World",
		"Southridge", "Bellows", "Consolidated", "Margie", "Lamna", "Relecloud", "Munson", "Nod",
		"Alpine Ski", "Graphic", "Blue Yonder", "Datum", "Vanarsdel", "Parnell", "Kokoro"}
	vendorSuffixes = []string{"Software", "Labs", "Systems, Inc.", "Technologies", "Inc.", "GmbH",
		"Ltd.", "LLC", "Corp.", "AG", "Cloud", "Digital"}
)

// comboName returns the i-th name of stems × nouns, numbered once they run out.
func comboName(stems, nouns []string, i int) string {
	n := len(stems) * len(nouns)
	name := stems[i%n/len(nouns)] + " " + nouns[i%len(nouns)]
	if i >= n {
		name += " " + strconv.Itoa(i/n+1)
	}
	return name
}

func buildCatalog(r *rand.Rand, generated int) *seedCatalog {
	cats := make(map[string]*seedCategory, len(seedCategoryNames))
	for _, n := range seedCategoryNames {
		cats[n] = &seedCategory{id: newUUID(r), name: n}
	}
	vendors := map[string]*seedVendor{}
	fromSpec := func(specs []appSpec) []*seedCatalogApp {
		var out []*seedCatalogApp
		for _, s := range specs {
			v := vendors[s.vendor]
			if v == nil {
				v = &seedVendor{id: newUUID(r), name: s.vendor, url: s.url}
				vendors[s.vendor] = v
			}
			a := &seedCatalogApp{id: newUUID(r), name: s.name, kind: s.kind, vendor: v}
			for _, c := range s.cats {
				a.cats = append(a.cats, cats[c])
			}
			a.logo = logoURL(r, a)
			out = append(out, a)
		}
		return out
	}
	cat := &seedCatalog{famous: fromSpec(famousApps), special: fromSpec(specialApps)}
	cat.special[3].logo = "" // so even the tiny scale has an app without a logo
	cat.generated = generateApps(r, generated, cats)
	return cat
}

// logoURL leaves about one app in ten without a logo, as real catalogs do.
func logoURL(r *rand.Rand, a *seedCatalogApp) string {
	if r.IntN(10) == 0 {
		return ""
	}
	return "https://cdn.usagelens.example/logos/" + a.id + ".png"
}

// generateApps makes the long tail: names from stems × nouns in a shuffled
// order, vendors skewed so a few own many apps, and 0 to 3 categories.
func generateApps(r *rand.Rand, n int, cats map[string]*seedCategory) []*seedCatalogApp {
	vendors := make([]*seedVendor, max(1, n/4))
	vendorNames := r.Perm(max(len(vendors), len(vendorStems)*len(vendorSuffixes)))
	for i := range vendors {
		name := comboName(vendorStems, vendorSuffixes, vendorNames[i])
		vendors[i] = &seedVendor{id: newUUID(r), name: name, url: "https://" + seedSlug(name) + ".example.com"}
	}
	names := r.Perm(max(n, len(nameStems)*len(nameNouns)))
	kinds := []string{"browser", "browser", "browser", "desktop", "desktop", "mobile"}
	out := make([]*seedCatalogApp, n)
	for i := range out {
		u := r.Float64()
		a := &seedCatalogApp{
			id:     newUUID(r),
			name:   comboName(nameStems, nameNouns, names[i]),
			kind:   kinds[r.IntN(len(kinds))],
			vendor: vendors[int(u*u*float64(len(vendors)))],
		}
		a.cats = pickCategories(r, cats)
		a.logo = logoURL(r, a)
		out[i] = a
	}
	return out
}

// pickCategories gives ~15% of apps no category, ~55% one and the rest 2-3.
func pickCategories(r *rand.Rand, cats map[string]*seedCategory) []*seedCategory {
	n := 0
	switch p := r.Float64(); {
	case p < 0.15:
	case p < 0.70:
		n = 1
	default:
		n = 2 + r.IntN(2)
	}
	var out []*seedCategory
	for _, i := range r.Perm(len(seedCategoryNames))[:n] {
		out = append(out, cats[seedCategoryNames[i]])
	}
	return out
}
