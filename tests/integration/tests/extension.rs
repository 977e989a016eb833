use strata_integration::Server;

/// Every backend loads the same library version the installed SQL declares,
/// including several connections loading it at once.
#[test]
fn library_version_matches_extension_version_in_concurrent_backends() {
    let server = Server::from_env();
    let mut client = server.fresh_database("it_extension_version");
    let declared: String = client
        .query_one("SELECT extversion FROM pg_extension WHERE extname = 'strata'", &[])
        .unwrap()
        .get(0);

    let versions: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let mut c = server.connect("it_extension_version");
                    c.query_one("SELECT strata_version()", &[]).unwrap().get::<_, String>(0)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(versions.len(), 4);
    for v in versions {
        assert_eq!(v, declared);
    }
}
