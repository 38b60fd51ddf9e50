"""Word lists for synthetic keys and names (fixed here so cases never depend on a download)."""

# Uncommon English words: the paper's pass key mixes numbers with "uncommon vocabulary".
RARE_WORDS = """
abstruse acumen adumbrate alacrity amanuensis anathema antediluvian apocryphal arcane ascetic
assiduous atavism avuncular bailiwick bellwether bibulous blandishment bombast brobdingnagian bucolic
cacophony cadaver cajole callow canard capricious captious cartographer castigate catharsis caustic
chicanery chimera churlish circumlocution clandestine coddle cogent comestible concomitant conflagration
contumacious corpulent coruscate cupidity curmudgeon dalliance debacle decorous defenestrate deleterious
demagogue denouement desultory diaphanous diatribe didactic dilettante disingenuous dissemble doggerel
ebullient effrontery egregious eleemosynary elegiac emollient encomium enervate ephemeral epistolary
equanimity equivocate eschew esoteric evanescent excoriate exculpate execrable fastidious fatuous
fecund feckless filibuster flummox foible forbearance fractious frisson fulminate gainsay garrulous
gasconade gewgaw grandiloquent gregarious gumption halcyon harangue hegemony heterodox hirsute histrionic
iconoclast idiosyncrasy ignominious impecunious imperturbable impugn inchoate indefatigable ineffable
inexorable ingratiate inimical insouciant intransigent inveigle irascible jejune jocular juggernaut
kowtow labyrinthine lachrymose laconic lagniappe lambaste lassitude legerdemain lethargic licentious
limpid loquacious lugubrious machination magnanimous malapropism malinger maudlin mendacious meretricious
mollify monolith moribund munificent myriad nadir nebulous nefarious neophyte nonplussed numinous
obdurate obfuscate obsequious obstreperous odious officious onomatopoeia opprobrium ossify ostentatious
palimpsest panacea paragon parsimonious pellucid penchant penurious perfidious perfunctory pernicious
perspicacious petulant phlegmatic picayune platitude plethora polemic portmanteau precocious prevaricate
probity prolix propinquity prosaic pugnacious pulchritude punctilious pusillanimous quagmire querulous
quixotic quotidian raconteur rapacious recalcitrant recondite redolent refulgent remonstrate renegade
reticent ribald rigmarole sagacious salubrious sanguine sardonic saturnine scintilla scurrilous sedulous
serendipity sesquipedalian sinecure soporific spurious stentorian stolid subterfuge supercilious sybarite
sycophant taciturn tantamount tautology temerity tenebrous threnody timorous tintinnabulation torpid
tractable transmogrify truculent turpitude ubiquitous umbrage unctuous untoward upbraid usurious vacillate
vainglorious vapid venal verisimilitude vicissitude vituperate vociferous wanton welter whimsical winsome
xenophobe yammer zealot zenith zephyr
""".split()

# LongChat's line names are "adjective-noun" pairs.
ADJECTIVES = """
agile ancient bitter bold brave bright calm clever cold cosmic crimson curious damp daring dusty eager
early electric empty fancy fierce fluffy frozen gentle giant glossy golden grumpy happy hidden hollow
humble icy jolly kind lazy little lively lonely loud lucky mellow mighty misty modest narrow noble odd
old pale patient plain polite proud quick quiet rapid rare restless righteous rough royal rusty salty
shiny silent silky silver sleepy slow smooth soft solid sour spicy steady stormy strange sunny sweet
swift tall tame tender tidy tiny tired vivid wandering warm weary wild windy wise witty wooden young
""".split()

NOUNS = """
anchor apple arrow badger banner barrel basket beacon bicycle blanket boulder bridge bucket cabin camel
candle canyon carpet castle cellar cherry cliff clock cloud comet compass cookie copper cottage crayon
crystal dagger desert dolphin donkey dragon engine ethernet falcon feather ferry forest fountain garden
glacier goblet harbor helmet hammer island jacket kettle kitten ladder lantern lemon lighthouse magnet
marble meadow mirror monkey needle oasis orchard otter paddle parrot pebble pepper piano pillow planet
pocket pumpkin puzzle rabbit radio raven ribbon river rocket saddle satellite scooter shadow shovel
spider sponge squirrel statue stone sunset teapot thimble thunder tiger tower trumpet tunnel turtle
umbrella valley violin volcano wagon walrus whistle window wizard zebra
""".split()
